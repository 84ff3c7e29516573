"""TXT lookups through dnspython, against the system resolver or the one DNS_RESOLVER names."""
from __future__ import annotations

import dns.exception
import dns.resolver

TIMEOUT_SECONDS = 5.0


class DnsUnavailable(Exception):
    """The resolver did not answer (timeout, refused): nothing can be concluded about the records."""


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


def txt_records(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """Every TXT record at `name`, its strings joined; [] when the name or the record does not exist."""
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise DnsUnavailable(f"no answer for {name} ({type(exc).__name__})") from exc
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]
