"""The dashboard page as plain server-rendered HTML; every stored value passes through html.escape."""
from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from connector.admin.chart_data import ChartData
from connector.admin.charts import charts_section
from connector.admin.layout import inbox_href, page, table
from connector.admin.render_sections import forwarding_table, helpdesk_summary, outgoing_summary, sync_errors
from connector.admin.render_tables import HELD_BACK_SHOWN, button, suspended_table, ticket_table
from connector.admin.words import age_words, duration_words, when_words

__all__ = ["HELD_BACK_SHOWN", "RECENT_TICKETS", "REFRESH_SECONDS", "render_dashboard"]
REFRESH_SECONDS = 30
RECENT_TICKETS = 20
# Kept for callers of the old private names.
_ticket_table, _suspended_table, _button = ticket_table, suspended_table, button


def render_dashboard(status: dict, suspended: list[dict], tickets: list[dict], now: datetime,
                     can_sync: bool, api_endpoint: str = "", charts: ChartData | None = None,
                     refresh: bool = False) -> str:
    """The whole page: a summary, charts, the inboxes, forwarding, held-back and outgoing mail, recent tickets.

    `refresh` reloads it every REFRESH_SECONDS; only on request, since a page that changes under a
    screen reader or a slow reader is a barrier (WCAG 2.2.1)."""
    parts = ["<h1>Overview</h1>", _cards(status["totals"], status.get("outgoing")),
             *(["<h2>Mail flow</h2>", charts_section(charts)] if charts is not None else []),
             "<h2>Inboxes</h2>", sync_errors(status.get("sync_errors_by_kind", {})),
             _inbox_table(status["inboxes"], now, can_sync), _inbox_pager(status),
             "<h2>Forwarded external addresses</h2>", forwarding_table(status.get("external_addresses", []), now,
                                                                                 api_endpoint),
             "<h2>Held-back mail</h2>", _chips(status["suspended_by_kind"]),
             suspended_table(suspended, now, status["totals"].get("suspended")),
             "<h2>Outgoing mail</h2>", outgoing_summary(status.get("outgoing") or {"by_state": {}}, now),
             "<h2>Helpdesk delivery</h2>", helpdesk_summary(status.get("helpdesk")),
             "<h2>Tickets</h2>", _chips(status["tickets_by_status"]),
             ticket_table(tickets[:RECENT_TICKETS], now, status["totals"]["tickets"])]
    return page(f"gmail-connector {status['version']}: status", _banner(status, refresh), "\n".join(parts),
                REFRESH_SECONDS if refresh else None)


def _banner(status: dict, refresh: bool) -> str:
    uptime = status["uptime_seconds"]
    daemon = (f"up {duration_words(uptime)}, scheduler {escape(status['scheduler'])}" if uptime is not None
              else "daemon not attached (read from the database)")
    toggle = (f'refreshes every {REFRESH_SECONDS} s · <a href="/">stop refreshing</a>' if refresh
              else f'<a href="/?refresh=on">refresh every {REFRESH_SECONDS} s</a>')
    return (f"<p>version {escape(status['version'])} · {daemon} · generated "
            f"{escape(status['generated_at'])} · {toggle}</p>")


def _cards(totals: dict, outgoing: dict | None) -> str:
    cards = [("Inboxes", totals["inboxes"]), ("Need re-authorisation", totals["needs_reauth"]),
             ("Imported, last 24 h", totals["imported_last_24h"]), ("Imported, total", totals["imported_total"]),
             ("Held back", totals["suspended"]), ("Tickets", totals["tickets"])]
    if outgoing is not None:
        cards += [("Replies to send", outgoing["pending"]), ("Replies failed", outgoing["failed"])]
    return '<ul class="cards">' + "".join(f'<li class="card"><b>{n}</b>{escape(label)}</li>'
                                          for label, n in cards) + "</ul>"


def _chips(counts: dict[str, int]) -> str:
    if not counts:
        return '<p class="muted">none</p>'
    return '<p class="chips">' + "".join(f"<span>{escape(k)}: <b>{n}</b></span>" for k, n in counts.items()) + "</p>"


def _health(row: dict) -> str:
    credential = row["credential"]
    if credential["state"] == "needs_reauth":
        html = (f'<span class="badge warn">needs re-authorisation</span><br>run <code>{escape(credential["command"])}'
                f"</code>{_why(credential['message'])}")
    elif credential["state"] == "error":
        html = f'<span class="badge bad">error</span> {escape(credential["message"] or "")}'
    else:
        html = '<span class="badge ok">ok</span>'
    if row["state"] == "paused":
        html = '<span class="badge idle">paused</span> ' + html
    if row["backoff_until"]:
        failures = row["consecutive_failures"]
        html += f'<br><span class="muted">backing off after {failures} failure{"" if failures == 1 else "s"}</span>'
    return html + _push(row.get("push"))


def _push(push: dict | None) -> str:
    """Push for this inbox: on (with its notifications), or why Gmail refused the watch."""
    if not push:
        return ""
    if push["error"]:
        return f'<br><span class="badge warn">push off</span> <span class="muted">{escape(push["error"])}</span>'
    if push["enabled"]:
        notes = push["notifications"]
        recovered = f', {push["recovered_by_poll"]} caught by the safety-net poll' if push["recovered_by_poll"] else ""
        return (f'<br><span class="badge ok">push</span> <span class="muted">{notes} notification'
                f'{"" if notes == 1 else "s"}{recovered}</span>')
    return ""


def _why(message: str | None) -> str:
    # The stored error repeats the command after a dash; the command is already shown above it.
    reason = (message or "").partition(" — ")[0].removeprefix("auth_revoked: ")
    return f'<br><span class="muted">{escape(reason)}</span>' if reason else ""


def _inbox_table(rows: list[dict], now: datetime, can_sync: bool) -> str:
    if not rows:
        return '<p class="muted">No inboxes connected yet: <code>gmail-connector inboxes add ADDRESS</code></p>'
    lines = []
    for row in rows:
        address = row["address"]
        path = "/inboxes/" + quote(address, safe="@")
        toggle = (button(f"{path}/resume", "Resume", address) if row["state"] == "paused"
                  else button(f"{path}/pause", "Pause", address))
        # Only an active or failing inbox has a scheduled job to bring forward.
        syncable = can_sync and row["state"] in ("active", "error")
        # The address cell stays plain text (people and tests find a row by it); the page is one link away.
        details = f'<a href="{inbox_href(address)}" aria-label="{escape(f"Details of {address}")}">Details</a>'
        actions = details + " " + (button(f"{path}/sync", "Sync now", address) if syncable else "") + " " + toggle
        next_run = datetime.fromisoformat(row["next_run_at"]) if row["next_run_at"] else None
        lines.append(
            f'<tr><td>{escape(address)}</td><td>{escape(row["group"])}</td>'
            f"<td>{escape(row['mode'])}</td><td>{_health(row)}</td><td>{age_words(row['last_success_age_seconds'])}</td>"
            f"<td>{row['imported_last_24h']} / {row['imported_total']}</td><td>{_quota(row)}</td>"
            f"<td>{_next_run(row['state'], next_run, now)}</td><td>{actions}</td></tr>")
    head = ["Inbox", "Group", "Mode", "Health", "Last sync", "Imported (24 h / total)",
            "Quota units (minute / day)", "Next run", "Actions"]
    return table(head, lines, "Inboxes")


def _inbox_pager(status: dict) -> str:
    """Which inboxes of how many the table shows, and the way to the next ones (keyset cursor)."""
    page_info, shown = status.get("inboxes_page") or {}, len(status["inboxes"])
    total, after = status["totals"]["inboxes"], page_info.get("next_cursor")
    if not after and not page_info.get("after"):
        return ""
    parts = [f"{shown} of {total} inboxes shown, by address."]
    if page_info.get("after"):
        parts.append('<a href="/">back to the first inboxes</a>')
    if after:
        parts.append(f'<a href="/?inboxes_after={quote(after, safe="")}">next {shown} inboxes</a>')
    return f'<p class="muted">{" · ".join(parts)}</p>'


def _quota(row: dict) -> str:
    minute, day = row.get("quota_units_last_minute"), row.get("quota_units_last_day")
    return '<span class="muted">not measured</span>' if minute is None else f"{minute} / {day}"


def _next_run(state: str, next_run: datetime | None, now: datetime) -> str:
    # A job may linger a few seconds after its inbox stopped; the pass would skip it anyway.
    waiting = {"paused": "not while paused", "needs_reauth": "after consent is given again"}
    return f'<span class="muted">{waiting[state]}</span>' if state in waiting else when_words(next_run, now)
