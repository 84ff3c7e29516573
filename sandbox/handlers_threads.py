"""Gmail's thread-wide modify, trash, untrash and delete, and messages.batchDelete beside them."""
from __future__ import annotations

from sandbox.call import Call
from sandbox.errors import invalid
from sandbox.handlers_messages import _label_change
from sandbox.mailbox import Mailbox

# Google's users.threads reference: each change applies to every message of the thread, so history
# records one labelsAdded/labelsRemoved (or messagesDeleted) per message, as messages.modify does.


def _thread(box: Mailbox, thread_id: str) -> dict:
    # What Gmail answers to a thread change: ids and labels per message, no payloads.
    return {"id": thread_id, "historyId": str(box.thread_history_id(thread_id)),
            "messages": [m.brief() for m in box.thread_messages(thread_id)]}


def modify_thread(call: Call) -> dict:
    box, thread_id = call.box, call.args["id"]
    found = box.thread_messages(thread_id)
    add, remove = _label_change(call)
    if len(add) > 100 or len(remove) > 100:
        raise invalid("Too many labels: at most 100 may be added or removed at once")
    for msg in found:
        box.change_labels(msg, add, remove)
    return _thread(box, thread_id)


def trash_thread(call: Call) -> dict:
    box, thread_id = call.box, call.args["id"]
    for msg in box.thread_messages(thread_id):
        box.trash(msg)
    return _thread(box, thread_id)


def untrash_thread(call: Call) -> dict:
    box, thread_id = call.box, call.args["id"]
    for msg in box.thread_messages(thread_id):
        box.untrash(msg)
    return _thread(box, thread_id)


def delete_thread(call: Call) -> None:
    box = call.box
    for msg in box.thread_messages(call.args["id"]):
        box.delete(msg.id)


def batch_delete(call: Call) -> None:
    """Like batchModify here, ids this mailbox does not hold are passed over rather than failing the batch."""
    ids = call.body.get("ids") or []
    if not isinstance(ids, list):
        raise invalid("Invalid value at 'ids'")
    if len(ids) > 1000:
        raise invalid("Too many ids: at most 1000 are allowed")
    for message_id in dict.fromkeys(map(str, ids)):
        if message_id in call.box.messages:
            call.box.delete(message_id)
