"""What a message becomes in Request Tracker: its content, its attachments, its people, its lookups.

REST 2.0 records the connector's RT user as the author of every transaction, so the content opens
with the mail's own From/Cc/Date lines: agents read who wrote it above the message itself.
"""
from __future__ import annotations

import html
import mimetypes
from email.utils import format_datetime
from typing import Any

from connector.helpdesk.port import FileToDeliver, HelpdeskMessage, Person


def address(person: Person) -> str:
    """`"Name" <email>` for RT's role fields (RT sets the RealName of a user it creates from it)."""
    name = " ".join(person.name.replace("\\", "").replace('"', "'").split())
    return f'"{name}" <{person.email}>' if name else person.email


def message_fields(message: HelpdeskMessage, skipped: list[str]) -> dict[str, Any]:
    """Content and ContentType of a create/correspond/comment: HTML when the mail has it."""
    lines = [("From", address(message.author))]
    if message.cc:
        lines.append(("Cc", ", ".join(address(p) for p in message.cc)))
    lines.append(("Date", format_datetime(message.created_at) if message.created_at.tzinfo
                  else message.created_at.isoformat(sep=" ")))
    if skipped:
        lines.append(("Not attached (empty)", ", ".join(skipped)))
    if message.body_html:
        block = "<br>\n".join(f"<b>{html.escape(k)}:</b> {html.escape(v)}" for k, v in lines)
        return {"Content": f"<p>{block}</p>\n<hr>\n{message.body_html}", "ContentType": "text/html"}
    block = "\n".join(f"{k}: {v}" for k, v in lines)
    return {"Content": f"{block}\n\n{message.body_text}", "ContentType": "text/plain"}


def upload_parts(files: tuple[FileToDeliver, ...]) -> tuple[list[tuple], list[str]]:
    """The multipart `Attachments` parts for requests, and the names of files RT cannot take
    (REST 2.0 refuses an attachment without content)."""
    parts, skipped = [], []
    for number, file in enumerate(files, start=1):
        name = _file_name(file, number)
        if not file.payload:
            skipped.append(name)
            continue
        parts.append(("Attachments", (name, file.payload, file.content_type or "application/octet-stream")))
    return parts, skipped


def _file_name(file: FileToDeliver, number: int) -> str:
    """A name RT's multipart parser keeps as sent: no quotes, backslashes or control characters."""
    name = "".join(c for c in file.filename if c >= " " and c != "\x7f").replace('"', "'").replace("\\", "_")
    name = name.strip()
    if name:
        return name
    stem = "inline" if file.inline else "attachment"
    return f"{stem}-{number}{mimetypes.guess_extension(file.content_type or '') or '.bin'}"


def sql(value: str) -> str:
    """A quoted TicketSQL/TransactionSQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
