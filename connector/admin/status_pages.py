"""One page of each status list (inboxes, tickets, held-back mail) as JSON-ready rows with the next cursor.

Plain functions over a session, for /status, its list routes, the dashboard and the CLI alike. Each page
costs a fixed few indexed queries whatever the number of rows stored: keyset cursors, never OFFSET.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel import Session, select

from connector.admin import cursors
from connector.gmail.usage import ApiUsage
from connector.store import status_queries as sq
from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.models import Inbox
from connector.store.push import NOT_WATCHED, push_by_inbox
from connector.store.queries import ticket_json
from connector.store.types import iso_utc

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
RECENT_WINDOW = timedelta(hours=24)
REAUTH_COMMAND = "gmail-connector auth add {address} --client-secrets client_secret.json"


class DaemonView(Protocol):
    """What the status needs from a running daemon (a subset of the admin app's DaemonHooks)."""
    started_at: datetime

    def scheduler_running(self) -> bool: ...

    def next_run(self, address: str) -> datetime | None: ...


def inbox_page(session: Session, now: datetime, filters: sq.InboxFilter = sq.InboxFilter(),
               cursor: str | None = None, limit: int | None = DEFAULT_LIMIT, daemon: DaemonView | None = None,
               usage: ApiUsage | None = None, units: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    """Inboxes by address; `limit=None` means all of them (the CLI, which has no page to fill).

    `units` is `usage.inbox_units()` when the caller already has it (it walks every inbox's window)."""
    rows, next_cursor = inbox_rows(session, now, filters, cursor, limit)
    if units is None and usage is not None:
        units = usage.inbox_units()
    return {"items": describe_inboxes(session, now, rows, daemon, units), "next_cursor": next_cursor}


def inbox_rows(session: Session, now: datetime, filters: sq.InboxFilter, cursor: str | None,
               limit: int | None) -> tuple[list[sq.InboxRow], str | None]:
    """One page of stored inbox rows and the cursor of the next page (None on the last)."""
    after = cursors.after_inbox(cursor) if cursor else None
    rows, more = _split(sq.inbox_rows(session, filters, after, _fetch(limit), now - RECENT_WINDOW), limit)
    return rows, cursors.inbox_cursor(rows[-1].inbox.address) if more else None


def describe_inboxes(session: Session, now: datetime, rows: list[sq.InboxRow], daemon: DaemonView | None,
                     units: dict[str, tuple[int, int]] | None) -> list[dict[str, Any]]:
    """The JSON rows of /status: each inbox's figures, quota, lease and push (one query for every watch)."""
    push = push_by_inbox(session, now, {row.inbox.id for row in rows}) if rows else {}
    return [inbox_status(row.inbox, row.has_credential, row.recent, now, daemon) | _quota(units, row.inbox.address)
            | {"lease": _lease(row.lease, now), "push": push.get(row.inbox.id, NOT_WATCHED)} for row in rows]


def _lease(lease: sq.Lease | None, now: datetime) -> dict[str, Any] | None:
    if lease is None:
        return None
    expires = lease.expires_at
    return {"holder": lease.holder, "since": iso_utc(lease.acquired_at), "expires_at": iso_utc(expires),
            "expired": bool(expires and expires <= now)}


def ticket_page(session: Session, filters: sq.TicketFilter = sq.TicketFilter(), cursor: str | None = None,
                limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Tickets, newest first, with comment counts and helpdesk links for this page only."""
    before = cursors.before_ticket(cursor) if cursor else None
    rows, more = _split(sq.ticket_rows_page(session, filters, before, limit + 1), limit)
    ids = [ticket.id for ticket, _, _ in rows]
    links: dict[int, list[dict]] = {}
    if ids:
        for link in session.exec(select(HelpdeskTicket).where(HelpdeskTicket.ticket_id.in_(ids))
                                 .order_by(HelpdeskTicket.id)):
            links.setdefault(link.ticket_id, []).append({"destination": link.destination, "id": link.remote_id,
                                                         "url": link.url})
    items = [ticket_json(ticket, address, comments) | {"helpdesk": links.get(ticket.id, [])}
             for ticket, address, comments in rows]
    return {"items": items, "next_cursor": cursors.ticket_cursor(ids[-1]) if more else None}


def suspended_page(session: Session, filters: sq.SuspendedFilter = sq.SuspendedFilter(), cursor: str | None = None,
                   limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Held-back mail in one state, newest first, as `GET /suspended` shows each row."""
    after = cursors.after_suspended(cursor) if cursor else None
    rows, more = _split(sq.suspended_rows_page(session, filters, after, limit + 1), limit)
    items = [{"id": row.id, "reason": row.reason, "kind": row.kind, "from": row.from_email, "subject": row.subject,
              "received_at": iso_utc(row.received_at)} for row in rows]
    last = rows[-1] if more else None
    return {"items": items, "next_cursor": cursors.suspended_cursor(last.received_at, last.id) if last else None}


def _fetch(limit: int | None) -> int | None:
    return None if limit is None else limit + 1      # one more than shown says whether a next page exists


def _split(rows: list, limit: int | None) -> tuple[list, bool]:
    if limit is None or len(rows) <= limit:
        return rows, False
    return rows[:limit], True


def _quota(units: dict[str, tuple[int, int]] | None, address: str) -> dict[str, int | None]:
    # Usage lives in the daemon's memory: without a daemon in this process it is unknown, not zero.
    minute, day = (None, None) if units is None else units.get(address, (0, 0))
    return {"quota_units_last_minute": minute, "quota_units_last_day": day}


def inbox_status(inbox: Inbox, has_credential: bool, recent: int, now: datetime,
                 daemon: DaemonView | None) -> dict[str, Any]:
    next_run = daemon.next_run(inbox.address) if daemon is not None else inbox.next_run_at
    return {
        "address": inbox.address, "mode": inbox.mode, "group": inbox.group, "state": inbox.state,
        "credential": credential_state(inbox, has_credential),
        "last_success_at": iso_utc(inbox.last_success_at),
        "last_success_age_seconds": seconds_between(inbox.last_success_at, now),
        "last_error": inbox.last_error, "last_error_at": iso_utc(inbox.last_error_at),
        "history_id": inbox.history_id,
        "imported_total": inbox.imported_total, "imported_last_24h": recent,
        "backoff_until": iso_utc(inbox.backoff_until), "consecutive_failures": inbox.consecutive_failures,
        "next_run_at": iso_utc(next_run),
    }


def credential_state(inbox: Inbox, has_credential: bool) -> dict[str, str | None]:
    """ok, needs_reauth (with the command that fixes it), or error (with the last error).

    `connector.store.status_queries.needs_reauth` and `failing` are the same rule in SQL, for the filters."""
    if inbox.state == "needs_reauth" or not has_credential:
        reason = inbox.last_error if inbox.state == "needs_reauth" else "no stored credentials"
        return {"state": "needs_reauth", "command": REAUTH_COMMAND.format(address=inbox.address),
                "message": reason}
    # A failure newer than the last success means the inbox is failing right now, not that it once did.
    failing = inbox.consecutive_failures > 0 or inbox.state == "error"
    if failing and inbox.last_error:
        return {"state": "error", "command": None, "message": inbox.last_error}
    return {"state": "ok", "command": None, "message": None}


def seconds_between(then: datetime | None, now: datetime) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))
