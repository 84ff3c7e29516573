"""Forwarding jobs: set an external address up (in Gmail, or at any provider) and keep checking Gmail's side.

Plain functions (the daemon only schedules them). Gmail is never called inside a database
transaction: the SMTP receiver must be able to store Google's confirmation mail meanwhile. The test
mail that proves a forwarding end to end is jobs/forwarding_verify.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from connector.forwarding import states
from connector.forwarding.criteria import filter_action, filter_criteria, guided_steps, provider_steps
from connector.gmail.port import ForwardingNotPermitted, ForwardingRulesLimited, GmailGateway
from connector.store.addresses import list_addresses
from connector.store.db import session_scope
from connector.store.forwarding_models import ExternalAddress
from connector.store.types import utcnow
from connector.collaborators import Collaborators
from jobs.forwarding_filter import create_filter, find_filter, rules_deferred, rules_retry_at
from jobs.forwarding_rows import SetupError, has_gmail_grant, require_gmail_grant, save, snapshot

__all__ = ["SetupError", "SetupReport", "check_forwarding", "converge", "ensure_forwarding", "recheck_forwarding_daily",
           "save", "snapshot"]

log = logging.getLogger(__name__)
CHECK_SECONDS = 30
RECHECK_SECONDS = 24 * 3600


@dataclass
class SetupReport:
    external: str
    support: str
    state: str
    method: str
    reason: str | None = None
    created_address: bool = False
    created_filter: bool = False
    steps: list[str] = field(default_factory=list)


def _open(runtime: Collaborators, address: str) -> GmailGateway:
    return runtime.open_gateway(address)


def address_status(gateway: GmailGateway, support: str) -> str | None:
    found = [a for a in gateway.forwarding_addresses() if a.email.lower() == support]
    return found[0].verification_status if found else None


def converge(runtime: Collaborators, gateway: GmailGateway, row: ExternalAddress, status: str | None, *,
             repair: bool, now: datetime, method: str | None = None) -> tuple[states.Plan, bool]:
    """Read the filters, decide with the state machine, (re)create the filter if it says so, store."""
    wanted = filter_criteria(row.external_address, row.criteria)
    action = filter_action(row.support_address, row.disposition)
    filter_id = find_filter(gateway, row, wanted, repair)
    plan = states.plan(row.state, status, filter_id is not None, repair=repair,
                       external=row.external_address, support=row.support_address)
    reason = plan.reason if plan.state == states.FAILED else None
    if plan.create_filter:
        try:
            filter_id, refused = create_filter(gateway, row, wanted, action)
        except ForwardingRulesLimited as exc:
            return _deferred(runtime, row, "the forwarding filter", exc, now, method), False
        if refused:
            plan, reason = states.Plan(states.FAILED, refused, False), refused
    if plan.state == row.state == states.FAILED and reason is None:
        reason = row.failure_reason           # a failure the check cannot see stays explained
    save(runtime, row.external_address, now, state=plan.state, failure_reason=reason, filter_id=filter_id,
         last_check_at=now, retry_at=None, rule_refusals=0, **({"setup_method": method} if method else {}))
    return plan, plan.create_filter


def _deferred(runtime: Collaborators, row: ExternalAddress, what: str, exc: ForwardingRulesLimited,
              now: datetime, method: str | None) -> states.Plan:
    """Not active until the filter exists: the 30-second check makes it once the wait is over."""
    when = rules_retry_at(now, row.rule_refusals, exc.retry_after)
    reason = rules_deferred(row, what, when)
    save(runtime, row.external_address, now, state=states.AWAITING, failure_reason=reason, retry_at=when,
         rule_refusals=row.rule_refusals + 1, last_check_at=now, **({"setup_method": method} if method else {}))
    return states.Plan(states.AWAITING, reason)


def ensure_forwarding(runtime: Collaborators, external: str, *, method: str | None = None, criteria: str | None = None,
                      disposition: str | None = None, provider: str | None = None,
                      now: Callable[[], datetime] = utcnow) -> SetupReport:
    """`forwarding setup`: idempotent — running it again creates nothing twice and repairs what broke.

    The provider is Gmail when asked for (or a Gmail method is), else Gmail when the address has a
    Gmail grant, else any other provider: then there is nothing to call, only steps to print."""
    row = snapshot(runtime, external)
    provider = provider or (states.GMAIL if method or has_gmail_grant(runtime, row.external_address) else states.OTHER)
    if provider == states.OTHER:
        return _provider_setup(runtime, row, now())
    require_gmail_grant(runtime, row)
    if row.provider != states.GMAIL:
        row = save(runtime, row.external_address, now(), provider=states.GMAIL, state=states.NOT_CONFIGURED,
                   failure_reason=None, setup_method=None)
    changes = {k: v for k, v in (("criteria", criteria), ("disposition", disposition)) if v is not None}
    if changes:
        filter_action(row.support_address, changes.get("disposition", row.disposition))  # validates
        row = save(runtime, row.external_address, now(), **changes)
    gateway = _open(runtime, row.external_address)
    try:
        status, created, method = _ensure_address(gateway, row, method)
        if method == "guided" and status is None and row.state != states.AWAITING:
            row = save(runtime, row.external_address, now(), state=states.AWAITING, failure_reason=None)
        plan, made_filter = converge(runtime, gateway, row, status, repair=True, now=now(), method=method)
    finally:
        gateway.close()
    guided = method == "guided" and status != "accepted"
    steps = guided_steps(row.external_address, row.support_address) if guided else []
    return SetupReport(row.external_address, row.support_address, plan.state, method, plan.reason, created,
                       made_filter, steps)


def _provider_setup(runtime: Collaborators, row: ExternalAddress, now: datetime) -> SetupReport:
    """Any other provider: the admin forwards at the provider; a verified forwarding stays verified."""
    state = states.VERIFIED if row.state == states.VERIFIED and row.provider == states.OTHER else states.AWAITING
    reason = row.failure_reason if state == states.VERIFIED else None
    save(runtime, row.external_address, now, provider=states.OTHER, setup_method="provider", state=state,
         failure_reason=reason, filter_id=None, retry_at=None, rule_refusals=0)
    return SetupReport(row.external_address, row.support_address, state, "provider",
                       steps=provider_steps(row.external_address, row.support_address))


def _ensure_address(gateway: GmailGateway, row: ExternalAddress, method: str | None) -> tuple[str | None, bool, str]:
    """The forwarding address's status, created through the API unless the setup is guided."""
    status = address_status(gateway, row.support_address)
    if status is not None or method == "guided":
        return status, False, method or row.setup_method or "service_account"
    try:
        created = gateway.create_forwarding_address(row.support_address)
    except ForwardingRulesLimited as exc:
        when = rules_retry_at(utcnow(), 0, exc.retry_after)
        raise SetupError(rules_deferred(row, f"adding the forwarding address {row.support_address}", when,
                                        by_itself=False)) from None
    except ForwardingNotPermitted:
        if method == "service_account":
            raise SetupError(f"Gmail refused to add a forwarding address for {row.external_address}: only a "
                             "Workspace service account with domain-wide delegation may (scope "
                             "gmail.settings.sharing); use --guided for consumer Gmail") from None
        return None, False, "guided"
    return created.verification_status, True, "service_account"


def _each(runtime: Collaborators, wanted_states: tuple[str, ...], repair: bool,
          now: Callable[[], datetime]) -> dict[str, str]:
    with session_scope(runtime.engine) as session:
        # One that Gmail's forwarding-rules limit refused waits its turn: asking sooner only extends it.
        # Other providers have no settings to read: only their test mail says anything about them.
        externals = [r.external_address for r in list_addresses(session, wanted_states)
                     if r.provider == states.GMAIL and (r.retry_at is None or r.retry_at <= now())]
    results: dict[str, str] = {}
    for external in externals:
        try:
            row = snapshot(runtime, external)
            require_gmail_grant(runtime, row)
            gateway = _open(runtime, external)
            try:
                plan, _ = converge(runtime, gateway, row, address_status(gateway, row.support_address),
                                   repair=repair, now=now())
            finally:
                gateway.close()
            results[external] = plan.state
        except Exception as exc:  # noqa: BLE001 — one address's trouble never stops the others
            log.warning("forwarding check of %s failed: %s", external, exc)
            results[external] = f"error: {type(exc).__name__}"
    return results


def check_forwarding(runtime: Collaborators, now: Callable[[], datetime] = utcnow) -> dict[str, str]:
    """Every 30 s: addresses awaiting Google's confirmation move on by themselves once accepted."""
    return _each(runtime, (states.AWAITING,), repair=True, now=now)


def recheck_forwarding_daily(runtime: Collaborators, now: Callable[[], datetime] = utcnow) -> dict[str, str]:
    """Daily: a working forwarding whose address or filter vanished in Gmail degrades to failed."""
    return _each(runtime, states.WORKING, repair=False, now=now)
