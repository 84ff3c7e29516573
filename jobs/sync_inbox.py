"""`sync_inbox`: one pass over one connected Gmail inbox — new mail in, tickets out, cursor moved.

Write before act: raw bytes are committed before they are processed, and the history cursor
moves only after every message it covers is stored, processed and labelled. A crash anywhere
means the next pass sees the same ids again, and the store's unique keys make that harmless.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector.gmail.port import AuthRevoked, GmailError, GmailGateway, HistoryExpired, InsufficientScope, RateLimited
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, record_failure, record_success
from connector.store.types import utcnow
from oauth.vault import VaultError
from connector.mail.outcome import OutcomeCounts
from connector.ticketing.ticket_mail import pending_ids, ticket_stored_mails
from connector.collaborators import Collaborators
from jobs.fetching import PassStopped, import_ids, listing_for_backfill, listing_for_catch_up, listing_for_resync

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=30)


@dataclass
class SyncReport:
    inbox: str
    mode: str = "incremental"            # backfill | incremental | resync | skipped | stopped
    listed: int = 0
    imported: int = 0
    outcomes: OutcomeCounts = field(default_factory=OutcomeCounts)
    history_id: str | None = None
    error_kind: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class InboxSnapshot:
    id: int
    address: str
    group: str
    state: str
    history_id: str | None
    backfill_done: bool
    last_success_at: datetime | None
    consecutive_failures: int
    mode: str = "direct"


def sync_inbox(runtime: Collaborators, address: str, *, now: Callable[[], datetime] = utcnow,
               progress: Callable[[int, int], None] | None = None, force: bool = False,
               should_stop: Callable[[], bool] | None = None) -> SyncReport:
    """One pass. Never raises for Gmail trouble: the error is recorded on the inbox and reported.

    `should_stop`: asked between chunks of a long import (the daemon is stopping); the pass then
    ends early without moving the cursor, and the next one carries on, skipping what was stored."""
    engine, settings, ticketing = runtime.engine, runtime.settings, runtime.ticketing
    inbox = _snapshot(engine, address)
    report = SyncReport(inbox=inbox.address)
    # A forwarded address is never read, forced or not: its mail arrives by SMTP (0 quota units).
    if inbox.mode == "forwarding" or (inbox.state in ("paused", "needs_reauth") and not force):
        report.mode = "skipped"
        return report
    gateway = None
    try:
        gateway = runtime.open_gateway(inbox.address)
        _run_pass(inbox, report, ticketing, settings, gateway, now, progress, should_stop)
    except PassStopped as stopped:
        report.mode = "stopped"
        log.info("pass over %s %s", inbox.address, stopped)
    except GmailError as exc:
        _record_error(engine, inbox, report, exc, settings, now())
    except Exception as exc:  # noqa: BLE001 — a bug in one inbox must not stop the daemon
        log.exception("sync of %s failed unexpectedly", inbox.address)
        _record_error(engine, inbox, report, exc, settings, now())
    finally:
        if gateway is not None:
            gateway.close()
    return report


def _snapshot(engine: Engine, address: str) -> InboxSnapshot:
    with session_scope(engine) as session:
        row = get_inbox(session, address)
        if row is None:
            raise LookupError(f"no connected inbox {address}")
        return InboxSnapshot(row.id, row.address, row.group, row.state, row.history_id, row.backfill_done,
                             row.last_success_at, row.consecutive_failures, row.mode)


def _run_pass(inbox: InboxSnapshot, report: SyncReport, ticketing: Ticketing, settings: Settings,
              gateway: GmailGateway, now: Callable[[], datetime], progress, should_stop) -> None:
    engine = ticketing.engine
    # Mail stored by a pass that crashed before ticketing it goes first, in arrival order.
    for outcome in ticket_stored_mails(ticketing, pending_ids(engine, inbox_id=inbox.id, source="gmail")):
        report.outcomes.add(outcome)
    if inbox.history_id is None:
        report.mode = "backfill"
        ids, cursor = listing_for_backfill(gateway, settings)
    else:
        try:
            delta = gateway.history_since(inbox.history_id)
            ids, cursor = list(delta.added_message_ids), delta.history_id
            if not inbox.backfill_done:
                ids = listing_for_catch_up(gateway, settings) + ids
        except HistoryExpired:
            report.mode = "resync"
            log.warning("history of %s expired; listing recent mail again", inbox.address)
            ids, cursor = listing_for_resync(gateway, settings, inbox.last_success_at, now())
    report.listed = len(ids)
    imported = import_ids(gateway, ticketing, settings, inbox.id, ids, report.outcomes, progress, should_stop)
    report.imported = imported
    with session_scope(engine) as session:
        row = get_inbox(session, inbox.address)
        # The backfill is done only once the pass after it has caught up (see listing_for_catch_up).
        record_success(session, row, now(), history_id=cursor, imported=imported,
                       backfill_done=report.mode != "backfill")
    report.history_id = cursor


def _record_error(engine: Engine, inbox: InboxSnapshot, report: SyncReport, exc: Exception,
                  settings: Settings, when: datetime) -> None:
    kind, message = describe_error(exc, inbox.address)
    report.error_kind, report.error = kind, message
    delay = backoff_delay(inbox.consecutive_failures + 1, settings.poll_interval_seconds,
                          getattr(exc, "retry_after", None))
    log.warning("sync of %s failed (%s): %s; next try in %ds", inbox.address, kind, message, delay.total_seconds())
    with session_scope(engine) as session:
        row = get_inbox(session, inbox.address)
        if row is not None:
            record_failure(session, row, kind, message, when + delay, when)


def describe_error(exc: Exception, address: str) -> tuple[str, str]:
    """A stable kind and a message a person can act on (no secrets: port errors carry none)."""
    if isinstance(exc, AuthRevoked):
        return "auth_revoked", (f"{exc} — connect the inbox again: "
                                f"gmail-connector auth add {address} --client-secrets client_secret.json")
    if isinstance(exc, InsufficientScope):
        return "insufficient_scope", f"{exc} — grant the missing access: gmail-connector auth add {address}"
    if isinstance(exc, VaultError):
        return "encryption_key", str(exc)
    if isinstance(exc, RateLimited):
        return "rate_limited", str(exc)
    if isinstance(exc, GmailError):
        return type(exc).__name__.lower(), str(exc)
    if isinstance(exc, SQLAlchemyError):
        # A database error's text quotes its bound parameters (mail bytes, addresses): keep it in the log only.
        return "database", f"{type(exc).__name__} (see the daemon's log)"
    return "internal", f"{type(exc).__name__}: {exc}"


def backoff_delay(failures: int, poll_seconds: int, retry_after: float | None,
                  rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential in the number of consecutive failures, with jitter, never below Retry-After."""
    base = poll_seconds * (2 ** min(failures - 1, 10))
    delay = min(timedelta(seconds=base * (0.5 + rng() / 2)), MAX_BACKOFF)
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay
