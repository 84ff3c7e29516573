"""Pure composition of a reply: subject, threading headers, our Message-ID and the MIME bytes."""
from __future__ import annotations

import mimetypes
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Sequence

# Gmail refuses to send more than this, counting the base64-encoded attachments.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
# References grows by one id per message; long threads keep the first and the most recent ones.
MAX_REFERENCES = 20
# Only "Re:"-like answer prefixes collapse into one "Re:"; "Fwd:" stays part of the subject.
_ANSWER_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|vs|odp)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class ReplyAttachment:
    filename: str
    content_type: str
    payload: bytes = field(repr=False)

    @classmethod
    def guess(cls, filename: str, payload: bytes) -> "ReplyAttachment":
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return cls(filename, content_type, payload)


@dataclass(frozen=True)
class Reply:
    """Everything the bytes of one reply are made of; built from the queue row."""
    from_address: str
    to: tuple[str, ...]
    subject: str
    body_text: str
    message_id: str                       # without angle brackets
    date: datetime
    from_name: str = ""
    cc: tuple[str, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[ReplyAttachment, ...] = ()


def ticket_token(ticket_id: int) -> str:
    return f"[#{ticket_id}]"


def reply_subject(subject: str, ticket_id: int, add_token: bool = True) -> str:
    """`Re: <subject> [#ID]`: one Re:, the token once and never moved.

    `add_token=False` keeps the subject Gmail threads by: Gmail only puts a sent message into a
    thread whose subject matches, so a token appended to a customer's subject starts a new thread.
    """
    token = ticket_token(ticket_id)
    base = _ANSWER_PREFIX.sub("", subject or "").strip()
    if token in base:
        first = base.index(token) + len(token)
        base = base[:first] + base[first:].replace(token, "")
    elif add_token:
        base = f"{base} {token}".strip()
    return " ".join(f"Re: {base}".split())


def new_message_id(ticket_id: int, from_address: str, token: str | None = None) -> str:
    """`ticket-ID-random@domain-of-from`: recognisably ours, unique, and in the sender's domain."""
    domain = from_address.rpartition("@")[2].lower() or "localhost"
    return f"ticket-{ticket_id}-{token or secrets.token_hex(8)}@{domain}"


def capped_references(message_ids: Sequence[str], limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """The thread's ids in order, once each; the first (thread root) is kept when trimming."""
    ids = tuple(dict.fromkeys(m for m in message_ids if m))
    if len(ids) <= limit:
        return ids
    return (ids[0],) + ids[len(ids) - (limit - 1):]


def compose_reply(reply: Reply) -> bytes:
    """The RFC 5322 bytes (CRLF line ends). A person's reply: no Auto-Submitted header."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((reply.from_name, reply.from_address))
    msg["To"] = ", ".join(reply.to)
    if reply.cc:
        msg["Cc"] = ", ".join(reply.cc)
    msg["Subject"] = reply.subject
    msg["Date"] = format_datetime(reply.date)
    msg["Message-ID"] = f"<{reply.message_id}>"
    if reply.in_reply_to:
        msg["In-Reply-To"] = f"<{reply.in_reply_to}>"
    if reply.references:
        msg["References"] = " ".join(f"<{m}>" for m in reply.references)
    body = reply.body_text or "\n"
    # Quoted-printable keeps non-ASCII text 7-bit clean for relays without 8BITMIME.
    msg.set_content(body, charset="utf-8", cte=None if body.isascii() else "quoted-printable")
    for attachment in reply.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(attachment.payload, maintype=maintype or "application",
                           subtype=subtype or "octet-stream", filename=attachment.filename)
    return msg.as_bytes()


class ReplyError(ValueError):
    """A reply that cannot be queued; the message says why, and nothing was stored."""


class ReplyTooLarge(ReplyError):
    """The composed reply is over Gmail's sending limit; nothing was queued."""


def check_size(raw: bytes, limit: int = MAX_MESSAGE_BYTES) -> None:
    if len(raw) > limit:
        raise ReplyTooLarge(f"the reply would be {len(raw) / 1048576:.1f} MB with its attachments encoded; "
                            f"Gmail sends at most {limit / 1048576:.0f} MB")
