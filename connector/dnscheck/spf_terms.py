"""SPF record syntax (RFC 7208 section 12): a record's mechanisms and modifiers, parsed or refused; pure."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_TERM = re.compile(r"([+\-~?]?)([a-z0-9]+)(.*)", re.I | re.S)
_MODIFIER = re.compile(r"([a-z][a-z0-9_.\-]*)=(.*)", re.I | re.S)
_TARGET = re.compile(r"(?::([^/]+))?(?:/(\d+))?(?://(\d+))?")


class PermError(Exception):
    """The records cannot be evaluated as published; a receiver treats the mail as unauthenticated."""


@dataclass(frozen=True)
class Directive:
    qualifier: str
    name: str
    target: str | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    text: str = ""


def parse(record: str) -> tuple[list[Directive], dict[str, str]]:
    """The record's mechanisms in order and its modifiers; PermError on any syntax error."""
    directives, modifiers = [], {}
    for term in record.split()[1:]:
        modifier = _MODIFIER.fullmatch(term)
        if modifier and modifier.group(1).lower() not in MECHANISMS:
            name = modifier.group(1).lower()
            if name in modifiers and name in ("redirect", "exp"):
                raise PermError(f"{name}= appears twice")
            modifiers[name] = modifier.group(2)
            continue
        directives.append(_directive(term))
    return directives, modifiers


def _directive(term: str) -> Directive:
    match = _TERM.fullmatch(term)
    name = match.group(2).lower() if match else ""
    if name not in MECHANISMS:
        raise PermError(f"unknown SPF term {term!r}")
    qualifier, rest = match.group(1) or "+", match.group(3)
    if name in ("ip4", "ip6"):
        try:
            network = ipaddress.ip_network(rest[1:], strict=False) if rest.startswith(":") else None
        except ValueError:
            network = None
        if network is None or network.version != int(name[-1]):
            raise PermError(f"bad network in {term!r}")
        return Directive(qualifier, name, str(network), text=term)
    target = _TARGET.fullmatch(rest)
    if name == "all" and rest or target is None or name in ("include", "exists") and not target.group(1) \
            or name in ("include", "exists", "ptr") and (target.group(2) or target.group(3)):
        raise PermError(f"bad SPF term {term!r}")
    cidr4, cidr6 = (int(length) if length else None for length in (target.group(2), target.group(3)))
    if cidr4 is not None and cidr4 > 32 or cidr6 is not None and cidr6 > 128:
        raise PermError(f"bad prefix length in {term!r}")
    return Directive(qualifier, name, target.group(1), cidr4, cidr6, term)
