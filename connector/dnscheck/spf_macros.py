"""RFC 7208 section 7 macro expansion (`%{i}`, `%{d2}`, `%{ir}`...) for SPF domain-specs; pure."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote

_MACRO = re.compile(r"%(?:\{([a-zA-Z])(\d*)(r?)([.\-+,/_=]*)\}|(.))", re.S)


class MacroError(ValueError):
    """The domain-spec is not valid macro syntax: the record is a permerror."""


@dataclass(frozen=True)
class MacroContext:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    domain: str
    helo: str


def expand(spec: str, context: MacroContext) -> str:
    """`spec` with every macro replaced; raises MacroError on a bad macro."""
    out, pos = [], 0
    for match in _MACRO.finditer(spec):
        out.append(spec[pos:match.start()])
        pos = match.end()
        letter, digits, reverse, delimiters, escape = match.groups()
        if escape is not None:
            out.append({"%": "%", "_": " ", "-": "%20"}.get(escape) or _bad(spec))
            continue
        value = _letter(letter.lower(), context)
        parts = re.split("[" + re.escape(delimiters or ".") + "]", value)
        if reverse:
            parts.reverse()
        if digits:
            if int(digits) == 0:
                _bad(spec)
            parts = parts[-int(digits):]
        text = ".".join(parts)
        out.append(quote(text, safe="") if letter.isupper() else text)
    rest = spec[pos:]
    if "%" in rest:
        _bad(spec)
    out.append(rest)
    return "".join(out)


def _letter(letter: str, context: MacroContext) -> str:
    local, _, sender_domain = context.sender.rpartition("@")
    if letter == "s":
        return context.sender
    if letter == "l":
        return local or "postmaster"
    if letter == "o":
        return sender_domain
    if letter == "d":
        return context.domain
    if letter == "i":
        if context.ip.version == 4:
            return str(context.ip)
        return ".".join(context.ip.exploded.replace(":", ""))
    if letter == "v":
        return "in-addr" if context.ip.version == 4 else "ip6"
    if letter == "h":
        return context.helo or context.domain
    if letter == "p":
        # RFC 7208 5.7: "unknown" is what a receiver that skips the costly PTR validation uses.
        return "unknown"
    _bad(letter)
    return ""


def _bad(spec: str) -> str:
    raise MacroError(f"invalid macro in {spec!r}")
