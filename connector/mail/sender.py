"""Who sent the message when From does not say: a helpdesk still needs a requester.

Order, first usable address wins: From; then Reply-To (where the sender asked for answers, the
same rule as ParsedMail.requester); Sender (RFC 5322: the mailbox that actually sent it); the
Return-Path the last server recorded (the envelope sender); the mbox "From " line of a mailbox
export. A name from From is kept even when its address comes from elsewhere. Where the address
came from is said in the defects, so an agent knows to doubt it."""
from __future__ import annotations

import re

from connector.mail.addresses import parse_addresses
from connector.mail.model import Address

FALLBACKS = ("Reply-To", "Sender", "Return-Path")
MBOX_LINE = "mbox 'From ' line"
_UNIXFROM = re.compile(r"^From\s+(\S+@\S+)")


def choose_sender(from_: tuple[Address, ...], from_headers: int, fallbacks: dict[str, list[str]],
                  unixfrom: str | None) -> tuple[Address, str, list[str]]:
    """(the sender, the header it came from, defects saying how it was found when From alone did
    not give it); the header is "" when no header names a sender."""
    defects = [f"From: {from_headers} From headers; the first with an address is used"] if from_headers > 1 else []
    usable = [a for a in from_ if a.email]
    if usable:
        return usable[0], "From", defects
    name = next((a.name for a in from_ if a.name and a.name != "<>"), "")
    missing = "is missing" if not from_ else "has no usable address"
    for header in FALLBACKS:
        found, _ = parse_addresses(header, [v for v in fallbacks.get(header, []) if v.strip() not in ("", "<>")])
        address = next((a for a in found if a.email), None)
        if address is not None:
            defects.append(f"from: From {missing}; the sender is taken from {header}")
            return Address(name=name or address.name, email=address.email), header, defects
    match = _UNIXFROM.match(unixfrom or "")
    if match:
        defects.append(f"from: From {missing}; the sender is taken from the {MBOX_LINE}")
        return Address(name=name, email=match.group(1).lower()), MBOX_LINE, defects
    defects.append(f"from: From {missing} and no other header names a sender")
    return (from_[0] if from_ else Address(name, "")), "", defects
