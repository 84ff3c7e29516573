"""What a message becomes in Zendesk: a comment object with its uploads, and the audit metadata that keys it.

Each write carries our key in the audit's custom metadata ("Setting Metadata",
https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#setting-metadata), which
GET /api/v2/tickets/{id}/audits hands back: the lookup before a retry. Files go first to
POST /api/v2/uploads, whose tokens the comment names
(https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-attachments/#upload-files).
"""
from __future__ import annotations

import html
import mimetypes
from email.utils import format_datetime
from typing import Any

from connector.helpdesk.port import FileToDeliver, HelpdeskMessage, HelpdeskRefused, Person
from connector.helpdesk.zendesk_api import ZendeskApi

KEY_METADATA = "gmail_connector_key"    # audit metadata.custom[...] = our idempotency key
TAG = "gmail_connector"                 # on every ticket the connector opens: triggers can leave them alone
NO_TEXT = "(no text)"                   # Zendesk refuses a comment without a body


def address(person: Person) -> str:
    name = " ".join(person.name.split())
    return f"{name} <{person.email}>" if name else person.email


def upload_all(api: ZendeskApi, files: tuple[FileToDeliver, ...]) -> tuple[list[str], list[str]]:
    """Upload tokens for the files, and the names of those Zendesk cannot take (empty files)."""
    tokens, skipped = [], []
    for number, file in enumerate(files, start=1):
        name = file_name(file, number)
        if not file.payload:
            skipped.append(name)
            continue
        response = api.request("POST", "/api/v2/uploads", params={"filename": name}, data=file.payload,
                               headers={"Content-Type": file.content_type or "application/binary"}, ok=(200, 201))
        token = ((api.json(response) or {}).get("upload") or {}).get("token")
        if not token:
            raise HelpdeskRefused(f"Zendesk answered the upload of {name} without a token")
        tokens.append(str(token))
    return tokens, skipped


def comment(message: HelpdeskMessage, author_id: int | None, tokens: list[str], skipped: list[str]) -> dict[str, Any]:
    """The comment: public correspondence, or an internal note (public false) that says whose mail it was."""
    lines = []
    if not message.public or author_id is None:
        lines.append(("From", address(message.author)))
        lines.append(("Date", _date(message)))
    if message.cc:
        lines.append(("Cc", ", ".join(address(p) for p in message.cc)))
    if skipped:
        lines.append(("Not attached (empty)", ", ".join(skipped)))
    body: dict[str, Any] = {"public": message.public}
    if message.body_html:
        block = "<br>\n".join(f"<b>{html.escape(k)}:</b> {html.escape(v)}" for k, v in lines)
        body["html_body"] = (f"<p>{block}</p>\n<hr>\n" if lines else "") + message.body_html
    else:
        block = "\n".join(f"{k}: {v}" for k, v in lines)
        body["body"] = (f"{block}\n\n" if lines else "") + (message.body_text or NO_TEXT)
    if author_id is not None:
        body["author_id"] = author_id
    if tokens:
        body["uploads"] = tokens
    return body


def comment_event_id(answer: Any) -> str | None:
    """The id of the Comment event in the audit Zendesk answers a create or update with."""
    audit = (answer or {}).get("audit") or {}
    for event in audit.get("events") or []:
        if event.get("type") in ("Comment", "VoiceComment") and event.get("id"):
            return str(event["id"])
    return None


def file_name(file: FileToDeliver, number: int) -> str:
    name = "".join(c for c in file.filename if c >= " " and c != "\x7f").strip()
    if name:
        return name
    stem = "inline" if file.inline else "attachment"
    return f"{stem}-{number}{mimetypes.guess_extension(file.content_type or '') or '.bin'}"


def _date(message: HelpdeskMessage) -> str:
    when = message.created_at
    return format_datetime(when) if when.tzinfo else when.isoformat(sep=" ")
