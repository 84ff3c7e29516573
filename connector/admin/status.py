"""The status picture: a read-only summary of stored state plus the first page of each list; never calls Gmail."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from connector import __version__
from connector.admin.cursors import next_link
from connector.admin.helpdesk_view import helpdesk_status
from connector.admin.push_view import push_summary
from connector.admin.sections import external_addresses, outgoing_queue, sync_errors_by_kind
from connector.admin.status_pages import (DEFAULT_LIMIT, RECENT_WINDOW, REAUTH_COMMAND, DaemonView,  # noqa: F401
                                          credential_state, describe_inboxes, inbox_rows, seconds_between,
                                          suspended_page, ticket_page)
from connector.gmail.usage import ApiUsage
from connector.settings import Settings
from connector.store import status_queries as sq
from connector.store.types import iso_utc

# The summary's short lists: enough to act on at a glance; the rest is one `next` link away.
ATTENTION_SHOWN = 20
RECENT_SHOWN = 20


def build_status(session: Session, now: datetime, daemon: DaemonView | None = None, usage: ApiUsage | None = None,
                 settings: Settings | None = None, *, inboxes: sq.InboxFilter = sq.InboxFilter(),
                 cursor: str | None = None, limit: int | None = DEFAULT_LIMIT) -> dict[str, Any]:
    """The summary, one page of inboxes (filtered by `inboxes`), the inboxes needing attention, the newest
    tickets and held-back mail. `limit=None` puts every inbox on the one page (the CLI)."""
    status = status_summary(session, now, daemon, usage, settings)
    page_rows, page_next = inbox_rows(session, now, inboxes, cursor, limit)
    attention_rows, attention_next = inbox_rows(session, now, sq.InboxFilter(attention=True), None, ATTENTION_SHOWN)
    # Both lists described together: one push query and one pass over the daemon's usage, not two.
    described = describe_inboxes(session, now, _unique(page_rows + attention_rows), daemon,
                                 usage.inbox_units() if usage is not None else None)
    by_address = {row["address"]: row for row in described}
    filters = {"state": inboxes.state, "credential": inboxes.credential, "attention": inboxes.attention,
               "q": inboxes.q, "limit": limit}
    status |= {
        "inboxes": [by_address[row.inbox.address] for row in page_rows],
        "inboxes_page": {"limit": limit, "next_cursor": page_next,
                         "next": next_link("/status/inboxes", filters, page_next)},
        "needs_attention": {"count": status["totals"]["needs_attention"],
                            "inboxes": [by_address[row.inbox.address] for row in attention_rows],
                            "next": next_link("/status/inboxes", {"attention": True, "limit": ATTENTION_SHOWN},
                                              attention_next)},
        "tickets": _linked(ticket_page(session, limit=RECENT_SHOWN), "/status/tickets", RECENT_SHOWN),
        "suspended": _linked(suspended_page(session, limit=RECENT_SHOWN), "/status/suspended", RECENT_SHOWN),
    }
    return status


def status_summary(session: Session, now: datetime, daemon: DaemonView | None = None, usage: ApiUsage | None = None,
                   settings: Settings | None = None) -> dict[str, Any]:
    """Counts, states and sections, without any per-inbox row: what the dashboard and /metrics build on."""
    # A fixed handful of grouped, indexed counts, whatever the number of inboxes, mails and tickets.
    by_state = sq.inbox_totals(session)
    counts = sq.section_counts(session, now - RECENT_WINDOW)
    suspended, tickets = counts["suspended"], counts["tickets"]
    return {
        "version": __version__,
        "generated_at": iso_utc(now),
        "uptime_seconds": seconds_between(daemon.started_at, now) if daemon is not None else None,
        "scheduler": _scheduler(daemon),
        "suspended_by_kind": dict(sorted(suspended.items())),
        "tickets_by_status": dict(sorted(tickets.items())),
        "sync_errors_by_kind": sync_errors_by_kind(session),
        "external_addresses": external_addresses(session),
        "outgoing": outgoing_queue(session, counts["outgoing"]),
        "helpdesk": helpdesk_status(session, settings, now) if settings is not None else None,
        "api_usage_by_method": _by_method(usage),
        "push": push_summary(settings, daemon),
        "totals": _totals(by_state, counts["recent"].get("all", 0), suspended, tickets),
    }


def _unique(rows: list[sq.InboxRow]) -> list[sq.InboxRow]:
    return list({row.inbox.address: row for row in rows}.values())


def _linked(page: dict[str, Any], path: str, limit: int) -> dict[str, Any]:
    return page | {"next": next_link(path, {"limit": limit}, page["next_cursor"])}


def _by_method(usage: ApiUsage | None) -> dict[str, dict[str, int]] | None:
    if usage is None:
        return None
    return {method: {"calls": u.calls, "units": u.units} for method, u in usage.by_method().items()}


def _totals(by_state: dict[str, dict[str, int]], recent: int, suspended: dict[str, int],
            tickets: dict[str, int]) -> dict[str, Any]:
    def total(field: str) -> int:
        return sum(row[field] for row in by_state.values())
    return {
        "inboxes": total("inboxes"),
        "inboxes_by_state": {state: row["inboxes"] for state, row in sorted(by_state.items())},
        "needs_reauth": total("needs_reauth"), "needs_attention": total("attention"),
        "imported_total": total("imported_total"), "imported_last_24h": recent,
        "suspended": sum(suspended.values()), "tickets": sum(tickets.values()),
    }


def _scheduler(daemon: DaemonView | None) -> str:
    if daemon is None:
        return "not_attached"
    return "running" if daemon.scheduler_running() else "stopped"
