"""Gmail's users.messages methods over the sandbox mailbox."""
from __future__ import annotations

from sandbox import mime, render, search
from sandbox.call import Call
from sandbox.errors import ApiError, invalid, not_found
from sandbox.labels import gmail_order


def _visible(call: Call, label_ids: list[str], query: search.Query):
    box = call.box
    box.labels.require(label_ids)
    hidden = set() if (call.flag("includeSpamTrash") or query.reaches_spam_trash
                       or {"SPAM", "TRASH"} & set(label_ids)) else {"SPAM", "TRASH"}
    for msg in box.messages.values():
        if hidden & msg.labels or not set(label_ids) <= msg.labels:
            continue
        if query.matches(msg, box):
            yield msg


def _query(call: Call) -> search.Query:
    q = call.param("q")
    if q and call.metadata_only:
        raise ApiError(403, "Metadata scope does not support 'q' parameter", "forbidden")
    return search.parse(q)


def list_messages(call: Call) -> dict:
    found = sorted(_visible(call, call.params("labelIds"), _query(call)),
                   key=lambda m: (m.internal_date, m.id), reverse=True)
    chunk, token = render.page(found, call.param("pageToken"), render.page_size(call.param("maxResults"), 100, 500))
    out: dict = {}
    if chunk:
        out["messages"] = [m.ref() for m in chunk]
    if token:
        out["nextPageToken"] = token
    out["resultSizeEstimate"] = len(found)
    return out


def get_message(call: Call) -> dict:
    fmt = call.param("format", "full")
    if call.metadata_only and fmt in ("full", "raw"):
        raise ApiError(403, f"Metadata scope doesn't allow format {fmt.upper()}", "forbidden")
    return render.message(call.box.get(call.args["id"]), fmt, call.params("metadataHeaders"))


def _store(call: Call, default_date_source: str) -> dict:
    raw = call.raw_message()
    labels = call.box.labels.require(call.body.get("labelIds") or [])
    date_ms = None
    if (call.param("internalDateSource") or default_date_source) == "dateHeader":
        date_ms = mime.date_ms(mime.parse(raw))
    msg = call.box.add(raw, labels, date_ms, thread_hint=call.body.get("threadId"))
    return render.message(msg, "minimal")


def insert_message(call: Call) -> dict:
    return _store(call, "receivedTime")


def import_message(call: Call) -> dict:
    return _store(call, "dateHeader")


def send_message(call: Call) -> dict:
    msg = call.core.send(call.box.address, call.raw_message(), call.body.get("threadId"))
    return {"id": msg.id, "threadId": msg.thread_id, "labelIds": gmail_order(msg.labels)}


def _label_change(call: Call) -> tuple[list[str], list[str]]:
    body = call.body
    add, remove = body.get("addLabelIds") or [], body.get("removeLabelIds") or []
    call.box.labels.require(list(add) + list(remove))
    return add, remove


def _brief(msg) -> dict:
    return {"id": msg.id, "threadId": msg.thread_id, "labelIds": gmail_order(msg.labels)}


def modify_message(call: Call) -> dict:
    msg = call.box.get(call.args["id"])
    add, remove = _label_change(call)
    call.box.change_labels(msg, add, remove)
    return _brief(msg)


def batch_modify(call: Call) -> None:
    ids = call.body.get("ids") or []
    if len(ids) > 1000:
        raise invalid("Too many ids: at most 1000 are allowed")
    add, remove = _label_change(call)
    for message_id in ids:
        msg = call.box.messages.get(message_id)
        if msg is not None:
            call.box.change_labels(msg, add, remove)


def trash_message(call: Call) -> dict:
    msg = call.box.get(call.args["id"])
    call.box.trash(msg)
    return _brief(msg)


def untrash_message(call: Call) -> dict:
    msg = call.box.get(call.args["id"])
    call.box.untrash(msg)
    return _brief(msg)


def delete_message(call: Call) -> None:
    call.box.delete(call.args["id"])


def get_attachment(call: Call) -> dict:
    msg = call.box.get(call.args["messageId"])
    parsed = mime.parse_attachment_id(call.args["id"])
    if parsed is None or parsed[0] != msg.id:
        raise invalid("Invalid attachment token")
    data = mime.part_data(msg.parsed, parsed[1])
    if data is None:
        raise not_found()
    return {"size": len(data), "data": mime.b64url(data)}
