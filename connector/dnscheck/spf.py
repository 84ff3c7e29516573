"""RFC 7208 check_host() over the DNS port: what a receiver concludes about one IP sending as a domain.

Written here rather than taken from pyspf: pyspf swaps a module-wide `spf.DNSLookup` function and
calls dnspython's deprecated process-wide `dns.resolver.query`, so it cannot be pointed at the
DNS_RESOLVER we were given without patching global state (and it warns under dnspython 2).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from connector.dnscheck.port import DnsLookup, DnsUnavailable
from connector.dnscheck.spf_macros import MacroContext, MacroError, expand
from connector.dnscheck.spf_terms import Directive, PermError, parse

LOOKUP_LIMIT = 10       # RFC 7208 4.6.4: include, a, mx, ptr, exists and redirect, over the whole tree
VOID_LIMIT = 2          # ... and at most two of them may find nothing (NXDOMAIN or no data)
MX_LIMIT = 10           # ... and one mx or ptr term may look at ten names at most
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


class LookupLimitExceeded(PermError):
    """More DNS-querying terms than RFC 7208 allows: the usual way a grown SPF tree breaks."""


class TempError(Exception):
    """DNS did not answer while evaluating; a receiver would defer or treat it as unknown."""


@dataclass(frozen=True)
class SpfResult:
    result: str                  # pass | fail | softfail | neutral | none | permerror | temperror
    ip: str
    domain: str
    reason: str                  # which term decided, or what went wrong
    record: str | None           # the domain's own SPF record
    lookups: int
    void_lookups: int
    visited: tuple[str, ...]     # every include:/redirect= target evaluated, in order
    overflow: bool = False       # the permerror is the lookup limit


@dataclass
class _Walk:
    lookup: DnsLookup
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    helo: str
    lookups: int = 0
    voids: int = 0
    inner: str = ""          # what matched inside the include just evaluated, for the reason
    visited: list[str] = field(default_factory=list)

    def count(self, term: str) -> None:
        self.lookups += 1
        if self.lookups > LOOKUP_LIMIT:
            raise LookupLimitExceeded(f"more than {LOOKUP_LIMIT} DNS lookups (at {term})")

    def void(self, name: str) -> None:
        self.voids += 1
        if self.voids > VOID_LIMIT:
            raise PermError(f"more than {VOID_LIMIT} void lookups (at {name})")

    def expand(self, spec: str, domain: str) -> str:
        try:
            return expand(spec, MacroContext(self.ip, self.sender, domain, self.helo)).lower().rstrip(".")
        except MacroError as exc:
            raise PermError(str(exc)) from None


def spf_records(records: list[str]) -> list[str]:
    """The TXT records that are SPF version 1 records (RFC 7208 4.5)."""
    return [r for r in records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]


def check_host(ip: str, domain: str, lookup: DnsLookup, sender: str = "", helo: str = "") -> SpfResult:
    """The result a receiver gets for mail from `ip` with envelope domain `domain`."""
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    domain = domain.lower().rstrip(".")
    walk = _Walk(lookup, address, sender or f"postmaster@{domain}", helo or domain)
    record, overflow = None, False
    try:
        found = spf_records(_txt(walk, domain))
        record = found[0] if len(found) == 1 else None
        result, reason = _evaluate(walk, domain, found)
    except PermError as exc:
        result, reason, overflow = "permerror", str(exc), isinstance(exc, LookupLimitExceeded)
    except TempError as exc:
        result, reason = "temperror", str(exc)
    return SpfResult(result, str(address), domain, reason, record, walk.lookups, walk.voids, tuple(walk.visited),
                     overflow)


def _evaluate(walk: _Walk, domain: str, found: list[str]) -> tuple[str, str]:
    if not found:
        return "none", f"{domain} publishes no SPF record"
    if len(found) > 1:
        raise PermError(f"{domain} publishes {len(found)} SPF records")
    directives, modifiers = parse(found[0])
    for directive in directives:
        if _matches(walk, directive, domain):
            inner = f" then {walk.inner}" if directive.name == "include" else ""
            return QUALIFIERS[directive.qualifier], f"{directive.text} at {domain}{inner}"
    if "redirect" in modifiers and not any(d.name == "all" for d in directives):
        walk.count(f"redirect={modifiers['redirect']}")
        target = walk.expand(modifiers["redirect"], domain)
        walk.visited.append(target)
        result = _evaluate(walk, target, spf_records(_txt(walk, target)))
        if result[0] == "none":
            raise PermError(f"redirect={target} leads to no SPF record")
        return result
    return "neutral", f"nothing at {domain} matched and it has no all"


def _matches(walk: _Walk, directive: Directive, domain: str) -> bool:
    name = directive.name
    if name == "all":
        return True
    if name in ("ip4", "ip6"):
        network = ipaddress.ip_network(directive.target)
        return network.version == walk.ip.version and walk.ip in network
    walk.count(directive.text)
    target = walk.expand(directive.target, domain) if directive.target else domain
    if name == "include":
        walk.visited.append(target)
        result, walk.inner = _evaluate(walk, target, spf_records(_txt(walk, target)))
        if result == "none":
            raise PermError(f"include:{target} has no SPF record")
        return result == "pass"
    if name == "exists":
        return bool(_addresses(walk, target, 4, void=True))
    if name == "a":
        return _in_any(walk, _addresses(walk, target, walk.ip.version, void=True), directive)
    if name == "mx":
        hosts = [host for host in _asked(walk, lambda: walk.lookup.mx(target)) if host]
        if not hosts:
            walk.void(target)
        if len(hosts) > MX_LIMIT:
            raise PermError(f"{target} has more than {MX_LIMIT} MX hosts")
        return any(_in_any(walk, _addresses(walk, host, walk.ip.version), directive) for host in hosts)
    return _ptr_matches(walk, target)


def _ptr_matches(walk: _Walk, target: str) -> bool:
    # RFC 7208 5.5: a DNS error during ptr makes the term not match; it never fails the whole check.
    try:
        names = walk.lookup.ptr(str(walk.ip))[:MX_LIMIT]
        if not names:
            walk.void(f"PTR {walk.ip}")
        validated = [n for n in names
                     if walk.ip in {ipaddress.ip_address(a) for a in walk.lookup.addresses(n, walk.ip.version)}]
    except DnsUnavailable:
        return False
    return any(n == target or n.endswith("." + target) for n in validated)


def _in_any(walk: _Walk, addresses: list[str], directive: Directive) -> bool:
    prefix = directive.cidr4 if walk.ip.version == 4 else directive.cidr6
    for address in addresses:
        network = ipaddress.ip_network(f"{address}/{prefix if prefix is not None else walk.ip.max_prefixlen}",
                                       strict=False)
        if walk.ip in network:
            return True
    return False


def _addresses(walk: _Walk, name: str, family: int, void: bool = False) -> list[str]:
    found = _asked(walk, lambda: walk.lookup.addresses(name, family))
    if void and not found:
        walk.void(name)
    return found


def _txt(walk: _Walk, name: str) -> list[str]:
    return _asked(walk, lambda: walk.lookup.txt(name))


def _asked(walk: _Walk, ask):
    try:
        return ask()
    except DnsUnavailable as exc:
        raise TempError(str(exc)) from None
