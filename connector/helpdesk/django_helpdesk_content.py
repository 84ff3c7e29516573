"""What a message becomes in django-helpdesk: its text, our key marker, and names for its files.

django-helpdesk keeps no idempotency key and credits every follow-up to the API user, so each text
the connector writes starts with the mail's own From/Cc/Date lines (agents read who wrote it) and
ends with a marker line, `[gmail-connector ticket=KEY message=KEY files=N]`, that find_ticket and
find_message look for; `files` says how many attachments complete it, so a write whose uploads
were cut short is found as unfinished and completed instead of made twice.
"""
from __future__ import annotations

import mimetypes
import os
import re
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

from connector.helpdesk.port import FileToDeliver, HelpdeskMessage, HelpdeskRefused, NewHelpdeskTicket, Person
from connector.mail.html_text import html_to_text

TITLE_MAX = 200                                 # Ticket.title's max_length
_MARKER = re.compile(r"\[gmail-connector((?: [a-z]+=[^\s\]]+)+)\]")
_KEY = re.compile(r"[A-Za-z0-9._:@-]{1,200}")
# update_ticket() renders every follow-up's comment as a Django template: `{{ x }}` and `{# x #}`
# vanish and a lone `{%` or `%}` makes it answer 500. A zero-width space keeps them text.
_TEMPLATE_SYNTAX = re.compile(r"\{(?=[{%#])|%(?=})")
# Extensions django-helpdesk accepts by default (HELPDESK_VALID_EXTENSIONS) that are never served as
# active content; any other file is stored without its extension (its real name stays in `filename`).
_STORED_EXTENSIONS = {".txt", ".asc", ".pdf", ".doc", ".docx", ".odt", ".jpg", ".png", ".eml"}


@dataclass(frozen=True)
class Marker:
    ticket: str | None
    message: str | None
    files: int


@dataclass(frozen=True)
class Upload:
    filename: str           # the name as the customer sent it (django-helpdesk's `filename` field)
    stored_name: str        # the name of the stored file (its MEDIA_URL link)
    content_type: str
    payload: bytes


def marker_line(*, ticket: str | None = None, message: str | None = None, files: int = 0) -> str:
    parts = [f"{name}={_key(value)}" for name, value in (("ticket", ticket), ("message", message)) if value]
    return f"[gmail-connector {' '.join(parts)} files={files}]"


def find_marker(text: Any) -> Marker | None:
    """The last marker line in a description or comment, or None."""
    found = _MARKER.findall(text) if isinstance(text, str) else []
    if not found:
        return None
    fields = dict(part.split("=", 1) for part in found[-1].split())
    files = fields.get("files", "0")
    return Marker(fields.get("ticket"), fields.get("message"), int(files) if files.isdigit() else 0)


def ticket_description(ticket: NewHelpdeskTicket, uploads: list[Upload], skipped: list[str]) -> str:
    """The ticket's description (also its first follow-up's comment, which django-helpdesk does not render)."""
    first = ticket.first
    head = _head(first.author, ticket.cc or first.cc, first, skipped)
    return f"{head}\n\n{body_text(first)}\n\n" + marker_line(ticket=ticket.key, message=first.key, files=len(uploads))


def followup_comment(message: HelpdeskMessage, uploads: list[Upload], skipped: list[str]) -> str:
    head = _head(message.author, message.cc, message, skipped)
    text = f"{head}\n\n{body_text(message)}\n\n" + marker_line(message=message.key, files=len(uploads))
    return neutral(text)


def neutral(text: str) -> str:
    return _TEMPLATE_SYNTAX.sub(lambda found: found.group(0) + "\u200b", text)


def body_text(message: HelpdeskMessage) -> str:
    if message.body_text.strip():
        return message.body_text.strip()
    return html_to_text(message.body_html).strip() if message.body_html else ""


def title(subject: str) -> str:
    text = " ".join(subject.split()) or "(no subject)"
    return text if len(text) <= TITLE_MAX else text[:TITLE_MAX - 1] + "…"


def address(person: Person) -> str:
    name = " ".join(person.name.replace('"', "'").split())
    return f'"{name}" <{person.email}>' if name else person.email


def uploads(files: tuple[FileToDeliver, ...]) -> tuple[list[Upload], list[str]]:
    """The files to upload, in order, and the names of empty ones (django-helpdesk refuses those)."""
    kept, skipped = [], []
    for number, file in enumerate(files, start=1):
        name = "".join(c for c in file.filename if c >= " " and c != "\x7f").strip() or _fallback(file, number)
        if not file.payload:
            skipped.append(name)
            continue
        kind = file.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        kept.append(Upload(name[:1000], _stored(name, number), kind[:255], file.payload))
    return kept, skipped


def _head(author: Person, cc: tuple[Person, ...], message: HelpdeskMessage, skipped: list[str]) -> str:
    lines = [f"From: {address(author)}"]
    if cc:
        lines.append("Cc: " + ", ".join(address(person) for person in cc))
    when = message.created_at
    lines.append("Date: " + (format_datetime(when) if when.tzinfo else when.isoformat(sep=" ")))
    if skipped:
        lines.append("Not attached (empty): " + ", ".join(skipped))
    return "\n".join(lines)


def _stored(name: str, number: int) -> str:
    """A storage name that passes the default extension check and is never served as HTML or SVG."""
    stem, extension = os.path.splitext(os.path.basename(name.replace("\\", "/")))
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._")[:100] or f"attachment-{number}"
    extension = extension.lower()
    if extension in _STORED_EXTENSIONS:
        return stem + extension
    return f"{stem}_{extension[1:]}" if re.fullmatch(r"\.\w{1,10}", extension) else stem


def _fallback(file: FileToDeliver, number: int) -> str:
    stem = "inline" if file.inline else "attachment"
    return f"{stem}-{number}{mimetypes.guess_extension(file.content_type or '') or '.bin'}"


def _key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise HelpdeskRefused(f"the key {value[:60]!r} cannot be stored in django-helpdesk's marker line")
    return value
