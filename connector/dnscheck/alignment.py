"""DMARC identifier alignment (RFC 7489 3.1): organizational domains from the Public Suffix List; pure."""
from __future__ import annotations

from functools import lru_cache

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # Loaded on first use, not at import: reading the list is work no import should do.
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """`mail.example.co.uk` -> `example.co.uk`; a public suffix or unknown name is its own."""
    domain = domain.lower().rstrip(".")
    return _suffixes().privatesuffix(domain) or domain


def aligned(identifier: str | None, from_domain: str, mode: str) -> bool:
    """Whether an SPF or DKIM domain aligns with the From domain: `s` exactly, `r` by organizational domain."""
    if not identifier:
        return False
    identifier, from_domain = identifier.lower().rstrip("."), from_domain.lower().rstrip(".")
    if mode == "s":
        return identifier == from_domain
    return organizational_domain(identifier) == organizational_domain(from_domain)
