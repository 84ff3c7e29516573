"""What Gmail does to a message it sends: missing headers filled in, From held to send-as, Bcc stripped."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime, formataddr, getaddresses, make_msgid

from sandbox import mime


def complete_headers(raw: bytes, sender: str) -> bytes:
    """Gmail fills in From, Date and Message-ID when the client left them out."""
    parsed = mime.parse(raw)
    extra = ""
    if not parsed.get("From"):
        extra += f"From: {sender}\r\n"
    if not parsed.get("Date"):
        extra += f"Date: {format_datetime(datetime.now(timezone.utc))}\r\n"
    if not parsed.get("Message-ID"):
        extra += f"Message-ID: {make_msgid(domain='mail.gmail.com')}\r\n"
    return extra.encode() + raw


def hold_from_to_send_as(raw: bytes, send_as: list[dict]) -> bytes:
    """A From that is none of the mailbox's send-as addresses goes out as the default one.

    Gmail does not refuse such a send: it silently substitutes the default sender and answers 200
    (googleapis/google-api-php-client #2393, taylorwilsdon/google_workspace_mcp #1075). The sandbox
    keeps the display name the client wrote; only the address is replaced.
    """
    allowed = {entry["sendAsEmail"].lower() for entry in send_as}
    default = next(e["sendAsEmail"] for e in send_as if e.get("isDefault"))
    [(name, address)] = getaddresses([mime.first_header(mime.parse(raw), "From")])[:1] or [("", "")]
    if address.lower() in allowed:
        return raw
    return _replace_header(raw, b"from", f"From: {formataddr((name, default))}".encode())


def without_bcc(raw: bytes) -> bytes:
    """The copy recipients get: Gmail keeps Bcc only in the sender's Sent copy."""
    return _replace_header(raw, b"bcc", None)


def _replace_header(raw: bytes, name: bytes, line: bytes | None) -> bytes:
    """Every `name:` header (with its folded lines) dropped; `line` put where the first one was."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    eol = sep[:len(sep) // 2]
    lines, skipping = [], False
    for current in head.splitlines(keepends=True):
        if current[:1] in (b" ", b"\t"):
            if not skipping:
                lines.append(current)
            continue
        skipping = current.lower().startswith(name + b":")
        if skipping and line is not None:
            lines.append(line + eol)
            line = None
        elif not skipping:
            lines.append(current)
    return b"".join(lines) + sep + body
