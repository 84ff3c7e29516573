"""The SMTP envelope as the receiver keeps it: addresses as storable text, the message in a spool file."""
from __future__ import annotations

from typing import BinaryIO

from aiosmtpd.smtp import Envelope


class SpooledEnvelope(Envelope):
    """aiosmtpd's envelope with the message in a spool file instead of `original_content` bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.spool: BinaryIO | None = None
        self.size = 0


def envelope_text(address: str) -> str:
    """An envelope address as text any database stores: UTF-8 decoded, other bytes written as \\xNN.

    aiosmtpd decodes command arguments as UTF-8 with surrogate escapes, so an address sent in
    Latin-1 (`j\\xf6ran`), with or without SMTPUTF8, reaches us as a str that no database driver
    can encode. Turning it back into the bytes on the wire and escaping what is not UTF-8 keeps
    the address faithful and visible instead of failing every insert (a 451 forever).
    """
    try:
        wire = address.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that did not come from the wire: escape it too
        wire = address.encode("utf-8", "backslashreplace")
    # NUL is valid UTF-8 but PostgreSQL text refuses it.
    return wire.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
