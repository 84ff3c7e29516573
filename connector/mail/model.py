"""Values of the mail core: a parsed message and its parts, as plain frozen data."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

MAIL_KINDS = ("normal", "bulk", "auto_reply", "bounce", "report")


@dataclass(frozen=True)
class Address:
    name: str
    email: str            # lower-cased for comparisons; "" when the header had no usable address

    def as_json(self) -> dict:
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None
    inline: bool
    payload: bytes = field(repr=False, default=b"")

    def as_json(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size,
                "sha256": self.sha256, "content_id": self.content_id, "inline": self.inline}


@dataclass(frozen=True)
class Classification:
    kind: str                              # one of MAIL_KINDS
    reasons: tuple[str, ...] = ()          # readable: "Auto-Submitted: auto-replied", ...

    def as_json(self) -> dict:
        return {"kind": self.kind, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class ParsedMail:
    """Everything the pipeline needs from one message. `raw` is the exact bytes received."""
    raw: bytes = field(repr=False)
    message_id: str                        # without angle brackets; synthesised from a hash if absent
    subject: str
    from_: Address
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    body_text: str
    body_html: str | None
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...]    # decoded (name, value) in order, for rules that read headers
    classification: Classification
    defects: tuple[str, ...] = ()
    # Why the message was read only in part (over the reading budget: too deep, too many parts, a
    # header too long, too slow); empty when it was read in full. Such mail is held back.
    too_complex: str = ""
    # The header from_ came from: "From", or where it was found when From had no usable address
    # (connector/mail/sender.py: Reply-To, Sender, Return-Path, the mbox line); "" when none did.
    sender_source: str = "From"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for k, v in self.headers if k.lower() == wanted]

    @property
    def requester(self) -> Address:
        """First address in Reply-To, else From: the helpdesk rule that also covers forwarded mail."""
        for addr in self.reply_to:
            if addr.email:
                return addr
        return self.from_
