"""The latest DNS check per domain: judged ok / warn / fail, stored, and read back for the status."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from sqlmodel import Session, select

from connector.dnscheck.checks import Finding
from connector.store.dns_models import DnsCheck
from connector.store.types import iso_utc

RECORDS = ("spf", "dkim", "dmarc")


def overall_health(findings: Sequence[Finding]) -> str:
    """fail when a record is missing or wrong, warn when one only passes weakly, else ok."""
    if any(not f.ok for f in findings):
        return "fail"
    return "warn" if any(f.status != "ok" for f in findings) else "ok"


def record_dns_check(session: Session, domain: str, result: Sequence[Finding] | BaseException,
                     now: datetime) -> DnsCheck:
    """Keep `result` as the domain's latest check; an exception means the lookup itself failed.

    A failed lookup says nothing about the records, so it is a warning, not a failure, and the
    findings are cleared: stale ones beside a fresh `checked_at` would claim more than we know.
    """
    domain = domain.strip().lower().rstrip(".")
    row = session.exec(select(DnsCheck).where(DnsCheck.domain == domain)).first()
    if row is None:
        row = DnsCheck(domain=domain, checked_at=now, overall="warn")
    if isinstance(result, BaseException):
        row.overall, row.findings, row.error = "warn", "{}", str(result) or type(result).__name__
    else:
        row.overall, row.error = overall_health(result), None
        row.findings = json.dumps({f.check: _finding_json(f) for f in result})
    row.checked_at = now
    session.add(row)
    session.flush()
    return row


def _finding_json(finding: Finding) -> dict[str, Any]:
    # The record itself (a whole DKIM key) is left out: the status needs the verdict and the fix.
    return {"status": finding.status, "ok": finding.ok, "detail": finding.detail, "fix": finding.fix}


def dns_health_by_domain(session: Session) -> dict[str, dict[str, Any]]:
    """Every domain's latest check, JSON-ready, in one query."""
    return {row.domain: dns_health_json(row) for row in session.exec(select(DnsCheck).order_by(DnsCheck.domain))}


def dns_health_json(row: DnsCheck) -> dict[str, Any]:
    findings = json.loads(row.findings or "{}")
    return {"domain": row.domain, "checked_at": iso_utc(row.checked_at), "overall": row.overall,
            "error": row.error, **{name: findings.get(name) for name in RECORDS}}


def domain_of(address: str) -> str:
    return address.strip().lower().rpartition("@")[2].rstrip(".")
