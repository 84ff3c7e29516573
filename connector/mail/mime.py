"""The stdlib MIME parser, set up so it never raises and keeps enclosed messages as their own bytes."""
from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32

from connector.mail.charsets import unescape_8bit

# Enclosed messages are attachments: parsing them would make the stdlib re-serialise them later,
# and an attachment must be kept byte for byte. message/delivery-status keeps its stdlib handling.
OPAQUE_TYPES = frozenset({"message/rfc822", "message/global", "message/feedback-report",
                          "message/partial", "message/external-body", "message/disposition-notification"})


class _LenientPolicy(Compat32):
    """compat32 never raises on header access; we only turn raw 8-bit header bytes into text."""

    def header_fetch_parse(self, name, value):
        return unescape_8bit(value)


LENIENT = _LenientPolicy()


class MailPart(Message):
    """A message part whose enclosed messages stay opaque leaves of the MIME tree."""

    def get_content_maintype(self) -> str:
        # The feed parser recurses into a part when this says "message"; we say "application".
        if self.get_content_type() in OPAQUE_TYPES:
            return "application"
        return super().get_content_maintype()


_SPACE_BEFORE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_BOUNDARY_WITHOUT_SEMICOLON = re.compile(rb"^(content-type:[ \t]*multipart/[!-:<-~]+?)(\s+boundary=)",
                                         re.IGNORECASE | re.MULTILINE)


def _tolerate_obsolete_headers(raw: bytes) -> bytes:
    """Repair two header breakages of the top-level header block that would lose the whole body.

    RFC 5322 obs-syntax allows "Name :value"; the stdlib would end the headers at that line."""
    end = _HEADER_END.search(raw)
    head, rest = (raw[:end.start()], raw[end.start():]) if end else (raw, b"")
    head = _SPACE_BEFORE_COLON.sub(rb"\1:", head)
    # A missing ";" before boundary= would hide every part of the message.
    head = _BOUNDARY_WITHOUT_SEMICOLON.sub(rb"\1;\2", head)
    return head + rest


def parse_tree(raw: bytes) -> MailPart:
    # Only the copy we parse is adjusted; ParsedMail.raw keeps the exact bytes received.
    return BytesParser(_class=MailPart, policy=LENIENT).parsebytes(_tolerate_obsolete_headers(raw))


def part_defects(root: MailPart) -> list[str]:
    """The parser's own defects on every part, by class name and short text."""
    out: list[str] = []
    for index, part in enumerate(root.walk()):
        where = "message" if index == 0 else f"part {index}"
        for defect in getattr(part, "defects", ()):
            # Defect texts quote source lines: raw 8-bit bytes must not leak out as surrogates.
            detail = unescape_8bit(str(defect)).strip()[:80]
            out.append(f"{where}: {type(defect).__name__}" + (f": {detail}" if detail else ""))
    return out
