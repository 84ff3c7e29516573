"""Address headers into `Address` values: names decoded, emails lower-cased, garbage kept as a name."""
from __future__ import annotations

import re
from email.utils import getaddresses

from connector.mail.encoded_words import decode_words
from connector.mail.headers import unfold
from connector.mail.model import Address

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+$")


# RFC 5321 caps a forward path at 256 octets; anything longer is not an address a reply can reach.
MAX_ADDRESS_CHARS = 254

def parse_addresses(header: str, raw_values: list[str]) -> tuple[tuple[Address, ...], list[str]]:
    """All addresses in every occurrence of one header, plus readable defects."""
    values = [unfold(v) for v in raw_values]
    if not any(values):
        return (), []
    try:
        pairs = getaddresses(values)
    except Exception:  # never let one bad header stop the message
        pairs = []
    out: list[Address] = []
    defects: list[str] = []
    for name, email in pairs:
        if not name and not email:
            continue
        decoded, word_defects = decode_words(name)
        defects.extend(f"{header}: {d}" for d in word_defects)
        email = email.strip()
        if not _EMAIL.match(email) or len(email) > MAX_ADDRESS_CHARS:
            defects.append(f"{header}: no usable address in {(decoded or email)[:60]!r}")
            out.append(Address(name=(decoded or email).strip(), email=""))
            continue
        out.append(Address(name=decoded.strip(), email=email.lower()))
    if not out:
        joined = " ".join(values)
        defects.append(f"{header}: no usable address in {joined[:60]!r}")
        text, _ = decode_words(joined)
        out.append(Address(name=text, email=""))
    return tuple(out), defects
