"""DNS health job: check SPF, DKIM and DMARC of every external address's domain and keep the verdict.

Only external addresses count: their replies leave through the relay or Gmail "send as", so a
receiver judges them by the domain's DNS. A plain function; the daemon only schedules it.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Sequence

from sqlmodel import Session, select

from connector.dnscheck.checks import Finding
from connector.dnscheck.lookup import TIMEOUT_SECONDS, DnsUnavailable, ResolverLookup
from connector.dnscheck.run import run_checks
from connector.dnscheck.sending import CheckPlan
from connector.store.db import session_scope
from connector.store.dns_health import domain_of, record_dns_check
from connector.store.forwarding_models import ExternalAddress
from connector.store.types import utcnow
from connector.collaborators import Collaborators

log = logging.getLogger(__name__)
# Records change when a person edits the zone; four checks a day notice that soon enough
# without a resolver seeing the connector as a client that never stops asking.
DNS_HEALTH_SECONDS = 6 * 3600


def external_domains(session: Session) -> list[str]:
    """Each domain of the external addresses once, sorted."""
    return sorted({domain_of(address) for address in session.exec(select(ExternalAddress.external_address))})


def lookup_findings(domain: str, dns_resolver: str, plan: CheckPlan = CheckPlan(),
                    timeout: float = TIMEOUT_SECONDS) -> list[Finding]:
    """The three findings of `dns check DOMAIN` (DNS trouble shows as `unreachable` findings)."""
    return run_checks(domain, ResolverLookup.from_setting(dns_resolver, timeout), plan)


def check_dns_health(runtime: Collaborators, now: datetime | None = None,
                     timeout: float = TIMEOUT_SECONDS) -> dict[str, str]:
    """Check every external domain, store each result, and return {domain: ok | warn | fail}."""
    now = now or utcnow()
    with session_scope(runtime.engine) as session:
        domains = external_domains(session)
    verdicts: dict[str, str] = {}
    if not domains:
        return verdicts
    # The paths replies take (the relay's host, the DKIM key relayed replies are signed with) come from
    # the settings, read once per run: a key file replaced between runs is checked as it is now.
    plan = CheckPlan.from_settings(runtime.settings)
    for domain in domains:
        result = _findings_or_error(domain, runtime.settings.dns_resolver, plan, timeout)
        try:
            with session_scope(runtime.engine) as session:
                verdicts[domain] = record_dns_check(session, domain, result, now).overall
        except Exception:  # noqa: BLE001 — one domain (e.g. a second daemon's race) never stops the others
            log.exception("could not store the DNS check of %s", domain)
    return verdicts


def _findings_or_error(domain: str, dns_resolver: str, plan: CheckPlan,
                       timeout: float) -> Sequence[Finding] | Exception:
    # DNS is looked up outside any transaction: a slow resolver must not hold a database lock.
    try:
        findings = lookup_findings(domain, dns_resolver, plan, timeout)
    except ValueError as exc:
        log.warning("DNS check of %s: DNS_RESOLVER is not HOST[:PORT]", domain)
        return ValueError(f"DNS_RESOLVER is not HOST[:PORT]: {exc}")
    except Exception as exc:  # noqa: BLE001 — any other resolver failure
        log.warning("DNS check of %s failed: %s", domain, exc)
        return exc
    # Stored as a failed lookup (a warning, findings cleared): a verdict beside a record DNS did not
    # return would claim more than we know, and one silent resolver must not page anyone as "fail".
    silent = [f"{f.check.upper()}: {f.detail}" for f in findings if f.status == "unreachable"]
    if silent:
        log.warning("DNS check of %s: DNS did not answer", domain)
        return DnsUnavailable("; ".join(silent))
    return findings
