"""The DNS port the checks read through: the record types SPF, DKIM and DMARC need, in our words."""
from __future__ import annotations

from typing import Protocol


class DnsUnavailable(Exception):
    """The resolver did not answer (timeout, refused, SERVFAIL): nothing can be concluded about the records."""


class DnsLookup(Protocol):
    """Each method returns [] when the name or the record type does not exist (NXDOMAIN or no data),
    and raises DnsUnavailable when DNS could not say: the checks must tell the two apart."""

    def txt(self, name: str) -> list[str]:
        """Every TXT record at `name`, its strings joined."""

    def addresses(self, name: str, family: int) -> list[str]:
        """A (family 4) or AAAA (family 6) addresses of `name`."""

    def mx(self, name: str) -> list[str]:
        """The exchange host names of `name`'s MX records, most preferred first."""

    def ptr(self, ip: str) -> list[str]:
        """The host names the reverse zone gives for `ip`."""
