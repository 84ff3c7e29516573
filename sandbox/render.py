"""Gmail's JSON resources (Message, Thread, history, pages) built from the mailbox's stored state."""
from __future__ import annotations

from sandbox import mime
from sandbox.errors import invalid
from sandbox.labels import gmail_order
from sandbox.mailbox import Mailbox, StoredMessage

FORMATS = ("minimal", "metadata", "full", "raw")


def message(msg: StoredMessage, fmt: str = "full", headers: list[str] | None = None) -> dict:
    if fmt not in FORMATS:
        raise invalid(f"Invalid value at 'format' ({fmt})")
    out = {"id": msg.id, "threadId": msg.thread_id}
    if msg.labels:
        out["labelIds"] = gmail_order(msg.labels)
    out.update({"snippet": mime.snippet(msg.parsed), "sizeEstimate": len(msg.raw),
                "historyId": str(msg.history_id), "internalDate": str(msg.internal_date)})
    if fmt == "raw":
        out["raw"] = mime.b64url(msg.raw)
    elif fmt in ("metadata", "full"):
        out["payload"] = mime.payload(msg.parsed, msg.id, headers_only=fmt == "metadata", wanted=headers)
    return out


def thread(box: Mailbox, thread_id: str, fmt: str, headers: list[str] | None) -> dict:
    ids = box.threads[thread_id]
    messages = sorted((box.messages[i] for i in ids), key=lambda m: (m.internal_date, m.id))
    return {"id": thread_id, "historyId": str(box.thread_history_id(thread_id)),
            "messages": [message(m, fmt, headers) for m in messages]}


def page_token(offset: int) -> str:
    return f"{offset:020d}"


def page_offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise invalid("Invalid pageToken")
    return int(token)


def page(items: list, token: str | None, size: int) -> tuple[list, str | None]:
    start = page_offset(token)
    chunk = items[start:start + size]
    more = start + size < len(items)
    return chunk, (page_token(start + size) if more else None)


def page_size(raw: str | None, default: int, maximum: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"Invalid value for maxResults: {raw}") from None
    return max(1, min(value, maximum))
