"""Gmail's profile, watch/stop, history, labels and threads methods over the sandbox mailbox."""
from __future__ import annotations

from sandbox import render, search
from sandbox.call import Call
from sandbox.errors import invalid, not_found
from sandbox.handlers_messages import _query, _visible

_TYPES = {"messageAdded": "messagesAdded", "messageDeleted": "messagesDeleted", "labelAdded": "labelsAdded",
          "labelRemoved": "labelsRemoved"}


def get_profile(call: Call) -> dict:
    box = call.box
    return {"emailAddress": box.address, "messagesTotal": len(box.messages), "threadsTotal": len(box.threads),
            "historyId": str(box.history_id)}


def watch(call: Call) -> dict:
    return call.core.push.watch(call.box, call.body)


def stop(call: Call) -> None:
    call.core.push.stop(call.box)


def list_history(call: Call) -> dict:
    start = call.param("startHistoryId")
    if not start or not start.isdigit():
        raise invalid("Invalid startHistoryId")
    kinds = {_TYPES[t] for t in call.params("historyTypes") if t in _TYPES} or set(_TYPES.values())
    label = call.param("labelId")
    records = [r for r in call.box.history_since(int(start))
               if r.kind in kinds and (not label or label in r.message.get("labelIds", []) or label in r.label_ids)]
    chunk, token = render.page(records, call.param("pageToken"),
                               render.page_size(call.param("maxResults"), 100, 500))
    out: dict = {}
    if chunk:
        out["history"] = [r.as_json() for r in chunk]
    if token:
        out["nextPageToken"] = token
    out["historyId"] = str(call.box.history_id)
    return out


# ---- labels -------------------------------------------------------------------------------------

def list_labels(call: Call) -> dict:
    return {"labels": call.box.labels.all()}


def get_label(call: Call) -> dict:
    label = call.box.labels.get(call.args["id"])
    members = [m for m in call.box.messages.values() if label["id"] in m.labels]
    unread = [m for m in members if "UNREAD" in m.labels]
    label.update({"messagesTotal": len(members), "messagesUnread": len(unread),
                  "threadsTotal": len({m.thread_id for m in members}),
                  "threadsUnread": len({m.thread_id for m in unread})})
    return label


def create_label(call: Call) -> dict:
    return call.box.labels.create(call.body)


def update_label(call: Call) -> dict:
    return call.box.labels.update(call.args["id"], call.body)


def delete_label(call: Call) -> None:
    call.box.delete_label(call.args["id"])


# ---- threads --------------------------------------------------------------------------------------

def list_threads(call: Call) -> dict:
    box = call.box
    latest: dict[str, int] = {}
    for msg in _visible(call, call.params("labelIds"), _query(call)):
        latest[msg.thread_id] = max(latest.get(msg.thread_id, 0), msg.internal_date)
    ordered = sorted(latest, key=lambda t: (latest[t], t), reverse=True)
    chunk, token = render.page(ordered, call.param("pageToken"),
                               render.page_size(call.param("maxResults"), 100, 500))
    out: dict = {}
    if chunk:
        out["threads"] = [_thread_ref(box, t) for t in chunk]
    if token:
        out["nextPageToken"] = token
    out["resultSizeEstimate"] = len(ordered)
    return out


def _thread_ref(box, thread_id: str) -> dict:
    last = max((box.messages[i] for i in box.threads[thread_id]), key=lambda m: (m.internal_date, m.id))
    return {"id": thread_id, "snippet": render.mime.snippet(last.parsed),
            "historyId": str(box.thread_history_id(thread_id))}


def get_thread(call: Call) -> dict:
    thread_id = call.args["id"]
    if thread_id not in call.box.threads:
        raise not_found()
    fmt = call.param("format", "full")
    if fmt == "raw":
        raise invalid("Invalid value at 'format' (raw)")
    return render.thread(call.box, thread_id, fmt, call.params("metadataHeaders"))
