"""What the connector writes into a FreeScout thread: its HTML, its customer, its files, and our keys' markers.

FreeScout has no idempotency key and no field on a thread an integration may set (conversation
custom fields need the paid Custom Fields module), so each thread the connector writes ends in a
small line "[gmail-connector ticket KEY] [gmail-connector message KEY]": `find_ticket` and
`find_message` look for it, and reading agents' answers skips every thread that carries one.
"""
from __future__ import annotations

import base64
import html
import mimetypes
import re

from connector.helpdesk.port import FileToDeliver, HelpdeskMessage, Person

MARK = "gmail-connector"
_MARKER = re.compile(r"\[gmail-connector (ticket|message) ([A-Za-z0-9._:@+-]+)\]")
NAME_MAX = 40                       # FreeScout: "First name of the customer (max 40 characters)"


def marker(kind: str, key: str) -> str:
    return f"[{MARK} {kind} {key}]"


def has_marker(body: str, kind: str, key: str) -> bool:
    return any(found == (kind, key) for found in markers_in(body))


def markers_in(body: str) -> list[tuple[str, str]]:
    return [(found[1], found[2]) for found in _MARKER.finditer(html.unescape(body or ""))]


def thread_text(message: HelpdeskMessage, markers: list[str], skipped: list[str]) -> str:
    """The thread's HTML: the mail's own HTML, or its text; for a note, who wrote it first (the note is ours)."""
    if message.body_html and message.body_html.strip():
        body = message.body_html
    else:
        body = "<div>" + html.escape(message.body_text or "").replace("\n", "<br>\n") + "</div>"
    head = "" if message.public else (f"<p><b>From:</b> {html.escape(_address(message.author))}<br>"
                                      f"<b>Message-ID:</b> &lt;{html.escape(message.message_id)}&gt;</p>\n")
    lines = [f"empty file not attached: {html.escape(name)}" for name in skipped]
    lines.append(" ".join(html.escape(line) for line in markers))
    return head + body + '\n<p style="color:#999;font-size:11px">' + "<br>".join(lines) + "</p>"


def customer_of(person: Person) -> dict:
    """A customer object as Create Conversation / Create Thread take it: email, and the name split in two."""
    first, _, last = (person.name or "").strip().rpartition(" ")
    first, last = (first, last) if first else (last, "")
    customer = {"email": person.email}
    if first:
        customer["firstName"] = first[:NAME_MAX]
    if last:
        customer["lastName"] = last[:NAME_MAX]
    return customer


def attachments_of(files: tuple[FileToDeliver, ...]) -> tuple[list[dict], list[str]]:
    """The files as base64 `data`, and the names of those FreeScout would drop: it skips empty content."""
    sent, skipped = [], []
    for number, file in enumerate(files, start=1):
        if not file.payload or file.payload == b"0":   # PHP reads "0" as empty too, and drops it silently
            skipped.append(file.filename)
            continue
        sent.append({"fileName": _file_name(file, number), "data": base64.b64encode(file.payload).decode("ascii"),
                     "mimeType": file.content_type or "application/octet-stream"})
    return sent, skipped


def _file_name(file: FileToDeliver, number: int) -> str:
    """The module drops a file whose name PHP finds empty ("" or "0") without a word: such a file gets one."""
    name = (file.filename or "").strip()
    if name and name != "0":
        return name
    stem = "inline" if file.inline else "attachment"
    return f"{stem}-{number}{mimetypes.guess_extension(file.content_type or '') or '.bin'}"


def emails(people: tuple[Person, ...], *, besides: str = "") -> list[str]:
    return list(dict.fromkeys(p.email for p in people if p.email and p.email != besides))


def _address(person: Person) -> str:
    return f'"{person.name}" <{person.email}>' if person.name else f"<{person.email}>"
