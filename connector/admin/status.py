"""The status picture: a read-only view of stored state, built with a handful of GROUP BY queries."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, select

from connector import __version__
from connector.admin.helpdesk_view import helpdesk_status
from connector.admin.push_view import push_summary
from connector.store.push import NOT_WATCHED, push_by_inbox
from connector.admin.sections import external_addresses, outgoing_queue, sync_errors_by_kind
from connector.gmail.usage import ApiUsage
from connector.settings import Settings
from connector.store.consent_models import ServiceAccountKey
from connector.store.leases import lease_rows
from connector.store.models import Credential, Inbox, RawMail, SuspendedMail, Ticket
from connector.store.types import iso_utc

RECENT_WINDOW = timedelta(hours=24)
REAUTH_COMMAND = "gmail-connector auth add {address} --client-secrets client_secret.json"


class DaemonView(Protocol):
    """What the status needs from a running daemon (a subset of the admin app's DaemonHooks)."""
    started_at: datetime

    def scheduler_running(self) -> bool: ...

    def next_run(self, address: str) -> datetime | None: ...


def build_status(session: Session, now: datetime, daemon: DaemonView | None = None,
                 usage: ApiUsage | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Everything an operator asks about, from the database (and this process's API usage); never calls Gmail."""
    # One query per question, not per inbox: 1,000 inboxes cost the same five statements as one.
    inboxes = session.exec(select(Inbox, Credential.id).outerjoin(Credential, Credential.inbox_id == Inbox.id)
                           .order_by(Inbox.address)).all()
    recent = _count_by(session, RawMail.inbox_id, RawMail.received_at >= now - RECENT_WINDOW)
    suspended = _count_by(session, SuspendedMail.kind, SuspendedMail.state == "suspended")
    tickets = _count_by(session, Ticket.status)
    units = usage.inbox_units() if usage is not None else None
    leases = lease_rows(session, now)
    push = push_by_inbox(session, now)
    # A Workspace inbox may hold no grant of its own and borrow its domain's service-account key.
    domain_keys = set(session.exec(select(ServiceAccountKey.domain)))
    rows = [_inbox_status(inbox, credential_id is not None or _borrows_domain_key(inbox, domain_keys),
                          recent.get(inbox.id, 0), now, daemon)
            | _quota(units, inbox.address) | {"lease": leases.get(inbox.address), "push": push.get(inbox.id, NOT_WATCHED)}
            for inbox, credential_id in inboxes]
    return {
        "version": __version__,
        "generated_at": iso_utc(now),
        "uptime_seconds": _seconds_between(daemon.started_at, now) if daemon is not None else None,
        "scheduler": _scheduler(daemon),
        "inboxes": rows,
        "suspended_by_kind": dict(sorted(suspended.items())),
        "tickets_by_status": dict(sorted(tickets.items())),
        "sync_errors_by_kind": sync_errors_by_kind(session),
        "external_addresses": external_addresses(session),
        "outgoing": outgoing_queue(session),
        "helpdesk": helpdesk_status(session, settings, now) if settings is not None else None,
        "api_usage_by_method": _by_method(usage),
        "push": push_summary(settings, daemon),
        "totals": _totals(rows, suspended, tickets),
    }


def _quota(units: dict[str, tuple[int, int]] | None, address: str) -> dict[str, int | None]:
    # Usage lives in the daemon's memory: without a daemon in this process it is unknown, not zero.
    minute, day = (None, None) if units is None else units.get(address, (0, 0))
    return {"quota_units_last_minute": minute, "quota_units_last_day": day}


def _by_method(usage: ApiUsage | None) -> dict[str, dict[str, int]] | None:
    if usage is None:
        return None
    return {method: {"calls": u.calls, "units": u.units} for method, u in usage.by_method().items()}


def _count_by(session: Session, column, *where) -> dict[Any, int]:
    query = select(column, func.count()).where(*where).group_by(column)
    return {key: int(count) for key, count in session.exec(query)}


def _borrows_domain_key(inbox: Inbox, domain_keys: set[str]) -> bool:
    return inbox.credential_kind == "service_account" and inbox.address.rpartition("@")[2] in domain_keys


def _inbox_status(inbox: Inbox, has_credential: bool, recent: int, now: datetime,
                  daemon: DaemonView | None) -> dict[str, Any]:
    next_run = daemon.next_run(inbox.address) if daemon is not None else inbox.next_run_at
    return {
        "address": inbox.address, "mode": inbox.mode, "group": inbox.group, "state": inbox.state,
        "credential": credential_state(inbox, has_credential),
        "last_success_at": iso_utc(inbox.last_success_at),
        "last_success_age_seconds": _seconds_between(inbox.last_success_at, now),
        "last_error": inbox.last_error, "last_error_at": iso_utc(inbox.last_error_at),
        "history_id": inbox.history_id,
        "imported_total": inbox.imported_total, "imported_last_24h": recent,
        "backoff_until": iso_utc(inbox.backoff_until), "consecutive_failures": inbox.consecutive_failures,
        "next_run_at": iso_utc(next_run),
    }


def credential_state(inbox: Inbox, has_credential: bool) -> dict[str, str | None]:
    """ok, needs_reauth (with the command that fixes it), or error (with the last error)."""
    if inbox.state == "needs_reauth" or not has_credential:
        reason = inbox.last_error if inbox.state == "needs_reauth" else "no stored credentials"
        return {"state": "needs_reauth", "command": REAUTH_COMMAND.format(address=inbox.address),
                "message": reason}
    # A failure newer than the last success means the inbox is failing right now, not that it once did.
    failing = inbox.consecutive_failures > 0 or inbox.state == "error"
    if failing and inbox.last_error:
        return {"state": "error", "command": None, "message": inbox.last_error}
    return {"state": "ok", "command": None, "message": None}


def _totals(rows: list[dict], suspended: dict[str, int], tickets: dict[str, int]) -> dict[str, Any]:
    by_state: dict[str, int] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + 1
    return {
        "inboxes": len(rows), "inboxes_by_state": dict(sorted(by_state.items())),
        "needs_reauth": sum(1 for r in rows if r["credential"]["state"] == "needs_reauth"),
        "imported_total": sum(r["imported_total"] for r in rows),
        "imported_last_24h": sum(r["imported_last_24h"] for r in rows),
        "suspended": sum(suspended.values()), "tickets": sum(tickets.values()),
    }


def _scheduler(daemon: DaemonView | None) -> str:
    if daemon is None:
        return "not_attached"
    return "running" if daemon.scheduler_running() else "stopped"


def _seconds_between(then: datetime | None, now: datetime) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))
