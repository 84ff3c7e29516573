"""Which support address a received message is for: envelope first, then the forwarding headers."""
from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Iterable, Mapping

# In the order they are trusted: the envelope is what our server was told; these headers are what
# earlier hops (Gmail, another MTA) recorded about the address the message was delivered to.
ROUTING_HEADERS = ("Delivered-To", "X-Forwarded-To", "X-Original-To")


def header_addresses(raw: bytes, name: str) -> list[str]:
    """Addresses in every `name` header of the message's head, lower-case, in order."""
    head = BytesHeaderParser(policy=compat32).parsebytes(raw)
    values = [str(v) for v in head.get_all(name, [])]
    return [email.lower() for _, email in getaddresses(values) if "@" in email]


def pick_support_address(envelope_rcpts: Iterable[str], raw: bytes, known: Mapping[str, str]) -> str | None:
    """The first known support address among the envelope recipients, then the routing headers.

    Several support addresses may receive one message; the first decides, so it is ticketed once."""
    for address in envelope_rcpts:
        if address.strip().lower() in known:
            return address.strip().lower()
    for name in ROUTING_HEADERS:
        for address in header_addresses(raw, name):
            if address in known:
                return address
    return None
