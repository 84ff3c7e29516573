"""One DNS check of a domain: its sending paths, then SPF, DKIM and DMARC in that order (DMARC needs both)."""
from __future__ import annotations

from connector.dnscheck.checks import Finding
from connector.dnscheck.dkim_check import check_dkim
from connector.dnscheck.dmarc_check import check_dmarc
from connector.dnscheck.port import DnsLookup
from connector.dnscheck.sending import CheckPlan, sending_paths
from connector.dnscheck.spf_check import check_spf


def run_checks(domain: str, lookup: DnsLookup, plan: CheckPlan = CheckPlan()) -> list[Finding]:
    """[spf, dkim, dmarc] for mail From @domain; DNS trouble becomes `unreachable` findings, never an error."""
    domain = domain.strip().lower().rstrip(".")
    paths = sending_paths(domain, plan, lookup)
    spf, spf_outcomes = check_spf(domain, paths, lookup)
    dkim, dkim_outcomes = check_dkim(domain, paths, lookup)
    return [spf, dkim, check_dmarc(domain, paths, spf_outcomes, dkim_outcomes, lookup, dkim.publish)]
