"""The ways our replies leave (Gmail's servers, the SMTP relay) and what a receiver sees of each; pure values."""
from __future__ import annotations

from dataclasses import dataclass

from connector.dnscheck.checks import Part


@dataclass(frozen=True)
class SendingPath:
    """One route replies From @DOMAIN take, as a receiver meets it: from which IPs, with which envelope
    domain (what SPF checks) and which DKIM signature (d= and selector; None when unsigned)."""
    name: str                          # gmail | relay
    label: str                         # for people: "Gmail's servers (_spf.google.com)"
    ips: tuple[str, ...]               # the addresses it connects from (resolved, never assumed)
    spf_terms: tuple[str, ...]         # what the envelope domain's SPF must hold to authorize it
    envelope_domain: str
    dkim_domain: str | None
    dkim_selector: str | None
    dkim_private_key: bytes | None = None   # PEM we sign with (relay); None: the provider's own key
    problem: Part | None = None        # its IPs could not be found: nothing can be evaluated for it
