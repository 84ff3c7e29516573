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
    out: list[Address] = []
    defects: list[str] = []
    for value in values:
        for name, email in _mailboxes(header, value, defects):
            decoded, word_defects = decode_words(name)
            defects.extend(f"{header}: {d}" for d in word_defects)
            email = email.strip()
            if not _EMAIL.match(email) or len(email) > MAX_ADDRESS_CHARS:
                defects.append(f"{header}: no usable address in {(decoded or email)[:60]!r}")
                out.append(Address(name=(decoded or email).strip(), email=""))
                continue
            out.append(Address(name=_without_comments(decoded), email=email.lower()))
    if not out:
        joined = " ".join(values)
        defects.append(f"{header}: no usable address in {joined[:60]!r}")
        text, _ = decode_words(joined)
        out.append(Address(name=text, email=""))
    return tuple(out), defects


def _mailboxes(header: str, value: str, defects: list[str]) -> list[tuple[str, str]]:
    """(name, email) pairs of one header value, with the mailer breakages we can read repaired."""
    try:
        pairs = [p for p in getaddresses([value]) if p[0] or p[1]]
    except Exception:  # never let one bad header stop the message
        pairs = []
    bracketed = _BRACKETED.findall(value)
    if len(pairs) > 1 and len(bracketed) == 1 and not _outside_quotes(value, ","):
        # "john@x.example <real@y.example>": one mailbox whose unquoted name holds an "@".
        name = value[:value.index("<")].strip().strip('"').strip()
        defects.append(f"{header}: a display name with '@' and no quotes; read as {name[:40]!r} <{bracketed[0]}>")
        return [(name, bracketed[0])]
    if any(_EMAIL.match(email.strip()) for _, email in pairs) or not value.strip():
        return pairs
    loose = _loose_emails(value)
    if not loose:
        return pairs
    # "Big Bug bb@bug.example", "Name (a@b.example)": the address is there, its brackets are not.
    email = loose[-1]
    name = value.replace(email, " ", 1).translate(_NAME_JUNK).strip()
    defects.append(f"{header}: the address has no angle brackets; read as {name[:40]!r} <{email[:60]}>")
    return [(name, email)]


_BRACKETED = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>")
# Tokens of a header value: split on what can never be inside a bare address, then each token is
# matched whole (a search for addresses in "a@a@a@..." backtracked from every position).
_DELIMITERS = re.compile(r"[\s<>()\"',;:\[\]]+")
_BARE_EMAIL = re.compile(r"[^@]{1,64}@[^@.]+(?:\.[^@.]+)+")
_NAME_JUNK = str.maketrans({c: " " for c in '<>()"'})
_COMMENT = re.compile(r"\([^()]*\)")


def _loose_emails(value: str) -> list[str]:
    return [t for t in _DELIMITERS.split(value) if len(t) <= MAX_ADDRESS_CHARS and _BARE_EMAIL.fullmatch(t)]


def _without_comments(name: str) -> str:
    """"MAILER-DAEMON (Mail Delivery System)" shows as MAILER-DAEMON; a name that is only a
    comment ("a@b (Jane Doe)", as the stdlib reads it) stays."""
    stripped = " ".join(_COMMENT.sub(" ", name).split())
    return stripped or " ".join(name.split())


def _outside_quotes(value: str, char: str) -> bool:
    """Whether `char` occurs outside double quotes (a backslash escapes the next character); one pass."""
    quoted = escaped = False
    for c in value:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            return True
    return False
