"""Gmail's users.drafts methods over the sandbox mailbox; drafts.send goes out the way messages.send does."""
from __future__ import annotations

from sandbox import drafts, render, search
from sandbox.call import Call
from sandbox.errors import invalid
from sandbox.labels import gmail_order
from sandbox.mime import unb64url

# Semantics from Google's users.drafts reference and its guide "Create and send draft emails"
# (developers.google.com/workspace/gmail/api/guides/drafts), and the discovery document's methods.


def _message_field(call: Call) -> dict:
    message = call.body.get("message")
    if message is not None and not isinstance(message, dict):
        raise invalid("Invalid value at 'draft.message' (type.googleapis.com/google.apps.gmail.v1.Message)")
    return message or {}


def _content(call: Call) -> tuple[bytes, str | None]:
    """The draft's RFC 822 bytes (uploaded medium or `message.raw`) and the thread it asks to join."""
    message = _message_field(call)
    if call.media is not None:
        return call.media, message.get("threadId")
    if not message:
        raise invalid("Missing draft message")     # Gmail's words: google-api-ruby-client #144
    try:
        raw = unb64url(str(message.get("raw") or ""))
    except ValueError:
        raise invalid("Invalid value for ByteString: raw") from None
    if not raw:
        raise invalid("'raw' RFC822 payload message string or uploading message via /upload/* URL required")
    return raw, message.get("threadId")


def _draft(draft_id: str, msg) -> dict:
    return {"id": draft_id, "message": msg.brief()}


def create_draft(call: Call) -> dict:
    raw, thread_hint = _content(call)
    return _draft(*drafts.create(call.box, raw, thread_hint))


def update_draft(call: Call) -> dict:
    draft_id = call.args["id"]
    drafts.message_of(call.box, draft_id)          # an unknown draft is a 404 before the body is judged
    raw, thread_hint = _content(call)
    return _draft(draft_id, drafts.replace(call.box, draft_id, raw, thread_hint))


def get_draft(call: Call) -> dict:
    msg = drafts.message_of(call.box, call.args["id"])
    return {"id": call.args["id"], "message": render.message(msg, call.param("format", "full"))}


def delete_draft(call: Call) -> None:
    drafts.discard(call.box, call.args["id"])


def list_drafts(call: Call) -> dict:
    box, query = call.box, search.parse(call.param("q"))
    hidden = set() if call.flag("includeSpamTrash") or query.reaches_spam_trash else {"SPAM", "TRASH"}
    found = sorted(((d, m) for d, m in drafts.live(box) if not hidden & m.labels and query.matches(m, box)),
                   key=lambda pair: (pair[1].internal_date, pair[1].id), reverse=True)
    chunk, token = render.page(found, call.param("pageToken"), render.page_size(call.param("maxResults"), 100, 500))
    out: dict = {}
    if chunk:
        # The list carries only ids, as the discovery document's ListDraftsResponse says.
        out["drafts"] = [{"id": d, "message": m.ref()} for d, m in chunk]
    if token:
        out["nextPageToken"] = token
    out["resultSizeEstimate"] = len(found)
    return out


def send_draft(call: Call) -> dict:
    """Send the draft as it stands, or with the content this call brings (the guide allows both)."""
    draft_id = call.body.get("id")
    if not draft_id or not isinstance(draft_id, str):
        raise invalid("Missing draft ID")         # `id` is required for drafts.send (discovery annotations)
    box = call.box
    msg = drafts.message_of(box, draft_id)
    if call.media is not None or _message_field(call).get("raw"):
        raw, thread_hint = _content(call)
        msg = drafts.replace(box, draft_id, raw, thread_hint)
    # The draft still holds its thread while the sent copy is threaded, so a reply stays in its conversation.
    sent = call.core.send(box.address, msg.raw, msg.thread_id)
    drafts.discard(box, draft_id)
    return {"id": sent.id, "threadId": sent.thread_id, "labelIds": gmail_order(sent.labels)}
