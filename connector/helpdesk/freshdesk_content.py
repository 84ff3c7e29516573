"""What a message becomes in Freshdesk: an HTML body carrying our key, its attachments, its timestamps.

Freshdesk keeps no idempotency key for a note, so every body the connector writes ends in a small
footer, "gmail-connector key: gmc-...": `find_message` finds it again by listing the ticket's
conversations, and the answers read back skip whatever carries it (it is the connector's own post).
A visible line, not an HTML comment: Freshdesk sanitizes the HTML it stores, text survives.
"""
from __future__ import annotations

import html
import mimetypes
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Iterable, Mapping

from connector.helpdesk.port import FileToDeliver, HelpdeskMessage, HelpdeskRefused, Person

MARKER = "gmail-connector key:"
ATTACHMENTS_LIMIT = 20 * 1024 * 1024    # "The total size of these attachments cannot exceed 20MB"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")     # a Freshdesk tag holds at most 32 characters
_OURS = re.compile(re.escape(MARKER) + r"\s*gmc-", re.IGNORECASE)
_TICKET_KEY = re.compile(r"^gmc-[0-9a-f]+-t\d+$")
_TEXT_FIELDS = ("body", "body_text", "description", "description_text")


def checked_key(key: str) -> str:
    """Our key as a tag and inside a search query: short, and nothing that needs quoting."""
    if not _KEY.match(key or ""):
        raise HelpdeskRefused(f"the key {key!r} cannot be a Freshdesk tag (letters, digits, . _ -; 32 at most)")
    return key


def message_html(message: HelpdeskMessage, skipped: list[str], keys: Iterable[str]) -> str:
    """The mail's From/Cc/Date above its content (HTML when the mail has it), our keys below."""
    lines = [("From", address(message.author))]
    if message.cc:
        lines.append(("Cc", ", ".join(address(person) for person in message.cc)))
    when = message.created_at if message.created_at.tzinfo else message.created_at.replace(tzinfo=timezone.utc)
    lines.append(("Date", format_datetime(when)))
    if skipped:
        lines.append(("Not attached", ", ".join(skipped)))
    head = "<br>\n".join(f"<b>{html.escape(name)}:</b> {html.escape(value)}" for name, value in lines)
    content = message.body_html or text_html(message.body_text)
    return f"<p>{head}</p>\n<hr>\n{content}\n{marker_html(keys)}"


def text_html(text: str) -> str:
    return "<div>" + html.escape(text or "").replace("\n", "<br>\n") + "</div>"


def marker_html(keys: Iterable[str]) -> str:
    return f'<p style="color:#999999;font-size:11px">{MARKER} {html.escape(" ".join(keys))}</p>'


def has_key(item: Mapping[str, Any], key: str) -> bool:
    """True when a ticket's description or a conversation's body carries our key (gmc-x-c1 is not gmc-x-c17)."""
    pattern = re.compile(r"(?<![\w-])" + re.escape(key) + r"(?![\w-])")
    return any(pattern.search(str(item.get(name) or "")) for name in _TEXT_FIELDS)


def written_by_us(item: Mapping[str, Any]) -> bool:
    return any(_OURS.search(str(item.get(name) or "")) for name in _TEXT_FIELDS)


def ticket_key(tags: Any) -> str | None:
    """Our ticket key among a ticket's tags: the mark of a ticket the connector opened."""
    return next((str(tag) for tag in tags or [] if _TICKET_KEY.match(str(tag))), None)


def address(person: Person) -> str:
    name = " ".join(person.name.replace('"', "'").split())
    return f'"{name}" <{person.email}>' if name else person.email


def file_parts(files: Iterable[FileToDeliver]) -> tuple[list[tuple], list[str]]:
    """The `attachments[]` parts, and the names of files Freshdesk cannot take (empty, or past 20 MB)."""
    parts, skipped, total = [], [], 0
    for number, file in enumerate(files, start=1):
        name = file_name(file, number)
        if not file.payload:
            skipped.append(f"{name} (empty)")
        elif total + len(file.payload) > ATTACHMENTS_LIMIT:
            skipped.append(f"{name} (past Freshdesk's 20 MB)")
        else:
            total += len(file.payload)
            parts.append(("attachments[]", (name, file.payload, file.content_type or "application/octet-stream")))
    return parts, skipped


def file_name(file: FileToDeliver, number: int) -> str:
    """A name that multipart carries as sent: no quotes, backslashes or control characters."""
    name = "".join(c for c in file.filename if c >= " " and c != "\x7f").replace('"', "'").replace("\\", "_")
    if name.strip():
        return name.strip()
    stem = "inline" if file.inline else "attachment"
    return f"{stem}-{number}{mimetypes.guess_extension(file.content_type or '') or '.bin'}"


def when(value: Any) -> datetime:
    """Freshdesk's timestamps ("2015-08-24T13:49:37Z", UTC) as aware datetimes."""
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def ticket_number(remote_ticket_id: str | int) -> int:
    text = str(remote_ticket_id).strip()
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskRefused(f"{text!r} is not a Freshdesk ticket id")
    return int(text)
