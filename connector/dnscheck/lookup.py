"""The DNS port over dnspython, against the system resolver or the one DNS_RESOLVER names."""
from __future__ import annotations

import dns.exception
import dns.name
import dns.resolver
import dns.reversename

from connector.dnscheck.port import DnsUnavailable

__all__ = ["DnsUnavailable", "ResolverLookup", "TIMEOUT_SECONDS", "make_resolver", "txt_records"]

TIMEOUT_SECONDS = 5.0


def make_resolver(dns_resolver: str = "", timeout: float = TIMEOUT_SECONDS) -> dns.resolver.Resolver:
    """`HOST[:PORT]` (IPv6 as `[::1]:53`) replaces the system's resolvers; empty keeps them."""
    if not dns_resolver:
        resolver = dns.resolver.Resolver()
    else:
        host, port = _split(dns_resolver)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = [host], port
    resolver.timeout = resolver.lifetime = timeout
    return resolver


def _split(value: str) -> tuple[str, int]:
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, int(rest.lstrip(":") or 53)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, 53


class ResolverLookup:
    """DnsLookup through one dnspython resolver, with a per-run cache: an SPF tree asks for the same
    names from several branches, and a receiver's resolver would answer those from its cache too."""

    def __init__(self, resolver: dns.resolver.Resolver):
        self.resolver = resolver
        self._cache: dict[tuple[str, str], list] = {}

    @classmethod
    def from_setting(cls, dns_resolver: str, timeout: float = TIMEOUT_SECONDS) -> "ResolverLookup":
        """Raises ValueError when DNS_RESOLVER is not HOST[:PORT]."""
        return cls(make_resolver(dns_resolver, timeout))

    def txt(self, name: str) -> list[str]:
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in self._ask(name, "TXT")]

    def addresses(self, name: str, family: int) -> list[str]:
        return [rdata.address for rdata in self._ask(name, "A" if family == 4 else "AAAA")]

    def mx(self, name: str) -> list[str]:
        records = sorted(self._ask(name, "MX"), key=lambda rdata: rdata.preference)
        return [rdata.exchange.to_text(omit_final_dot=True).lower() for rdata in records]

    def ptr(self, ip: str) -> list[str]:
        reverse = dns.reversename.from_address(ip).to_text()
        return [rdata.target.to_text(omit_final_dot=True).lower() for rdata in self._ask(reverse, "PTR")]

    def _ask(self, name: str, rdtype: str) -> list:
        key = (name.lower().rstrip("."), rdtype)
        if key not in self._cache:
            self._cache[key] = _resolve(self.resolver, name, rdtype)
        return self._cache[key]


def _resolve(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list:
    try:
        return list(resolver.resolve(name, rdtype, search=False))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong):
        return []    # a name that cannot exist has no records; the SPF evaluator counts it as void
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise DnsUnavailable(f"no answer for {name} {rdtype} ({type(exc).__name__})") from exc
    except dns.exception.DNSException as exc:
        raise DnsUnavailable(f"no usable answer for {name} {rdtype} ({type(exc).__name__})") from exc


def txt_records(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """Every TXT record at `name`, its strings joined; [] when the name or the record does not exist."""
    return ResolverLookup(resolver).txt(name)
