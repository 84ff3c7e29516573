"""The dashboard page as plain server-rendered HTML; every stored value passes through html.escape."""
from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from connector.admin.render_sections import (forwarding_table, helpdesk_summary, moment, outgoing_summary,
                                             sync_errors)
from connector.admin.words import age_words, duration_words, when_words

REFRESH_SECONDS = 30
RECENT_TICKETS = 20
HELD_BACK_SHOWN = 100   # the rest stay one click away in /suspended; a page of thousands helps nobody
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f6f7f9;color:#1f2430}
header{background:#1f2430;color:#fff;padding:14px 24px}header h1{margin:0;font-size:18px}
header p{margin:4px 0 0;color:#b8bfcc}main{padding:16px 24px;max-width:1300px}
h2{font-size:16px;margin:24px 0 8px}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 14px;min-width:110px}
.card b{display:block;font-size:22px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e6e9ee;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}.badge{display:inline-block;border-radius:10px;padding:1px 8px;
font-size:12px;font-weight:600}.ok{background:#d9f2e1;color:#17602f}.warn{background:#ffe9c7;color:#7a4a00}
.bad{background:#fbd9d9;color:#8a1c1c}.idle{background:#e4e6ea;color:#4a5060}
code{background:#f0f1f4;padding:1px 4px;border-radius:3px;font-size:12px}.muted{color:#6b7280}
form{display:inline}button{font:inherit;font-size:12px;padding:2px 8px;cursor:pointer}
.chips span{margin-right:10px}
"""


def render_dashboard(status: dict, suspended: list[dict], tickets: list[dict], now: datetime,
                     can_sync: bool, api_endpoint: str = "") -> str:
    """The whole page: a summary, the inboxes, forwarding, held-back mail, outgoing mail, recent tickets."""
    parts = [_head(), _banner(status), "<main>", _cards(status["totals"], status.get("outgoing")),
             "<h2>Inboxes</h2>", sync_errors(status.get("sync_errors_by_kind", {})),
             _inbox_table(status["inboxes"], now, can_sync),
             "<h2>Forwarded external addresses</h2>", forwarding_table(status.get("external_addresses", []), now,
                                                                                 api_endpoint),
             "<h2>Held-back mail</h2>", _chips(status["suspended_by_kind"]), _suspended_table(suspended, now),
             "<h2>Outgoing mail</h2>", outgoing_summary(status.get("outgoing") or {"by_state": {}}, now),
             "<h2>Helpdesk delivery</h2>", helpdesk_summary(status.get("helpdesk")),
             "<h2>Tickets</h2>", _chips(status["tickets_by_status"]), _ticket_table(tickets[:RECENT_TICKETS], now, status["totals"]["tickets"]),
             "</main></body></html>"]
    return "\n".join(parts)


def _head() -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>gmail-connector status</title><style>{CSS}</style></head><body>")


def _banner(status: dict) -> str:
    uptime = status["uptime_seconds"]
    daemon = (f"up {duration_words(uptime)}, scheduler {escape(status['scheduler'])}" if uptime is not None
              else "daemon not attached (read from the database)")
    return (f"<header><h1>gmail-connector {escape(status['version'])}</h1><p>{daemon} · generated "
            f"{escape(status['generated_at'])} · refreshes every {REFRESH_SECONDS} s</p></header>")


def _cards(totals: dict, outgoing: dict | None) -> str:
    cards = [("Inboxes", totals["inboxes"]), ("Need re-authorisation", totals["needs_reauth"]),
             ("Imported, last 24 h", totals["imported_last_24h"]), ("Imported, total", totals["imported_total"]),
             ("Held back", totals["suspended"]), ("Tickets", totals["tickets"])]
    if outgoing is not None:
        cards += [("Replies to send", outgoing["pending"]), ("Replies failed", outgoing["failed"])]
    return '<div class="cards">' + "".join(f'<div class="card"><b>{n}</b>{escape(label)}</div>'
                                           for label, n in cards) + "</div>"


def _chips(counts: dict[str, int]) -> str:
    if not counts:
        return '<p class="muted">none</p>'
    return '<p class="chips">' + "".join(f"<span>{escape(k)}: <b>{n}</b></span>" for k, n in counts.items()) + "</p>"


def _button(action: str, label: str) -> str:
    return f'<form method="post" action="{escape(action)}"><button type="submit">{escape(label)}</button></form>'


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
    lines = ["<table><tr><th>Inbox</th><th>Group</th><th>Mode</th><th>Health</th><th>Last sync</th>"
             "<th>Imported (24 h / total)</th><th>Quota units (minute / day)</th><th>Next run</th><th></th></tr>"]
    for row in rows:
        path = "/inboxes/" + quote(row["address"], safe="@")
        toggle = _button(f"{path}/resume", "Resume") if row["state"] == "paused" else _button(f"{path}/pause", "Pause")
        # Only an active or failing inbox has a scheduled job to bring forward.
        syncable = can_sync and row["state"] in ("active", "error")
        actions = (_button(f"{path}/sync", "Sync now") if syncable else "") + " " + toggle
        next_run = datetime.fromisoformat(row["next_run_at"]) if row["next_run_at"] else None
        lines.append(
            f"<tr><td>{escape(row['address'])}</td><td>{escape(row['group'])}</td><td>{escape(row['mode'])}</td>"
            f"<td>{_health(row)}</td><td>{age_words(row['last_success_age_seconds'])}</td>"
            f"<td>{row['imported_last_24h']} / {row['imported_total']}</td><td>{_quota(row)}</td>"
            f"<td>{_next_run(row['state'], next_run, now)}</td><td>{actions}</td></tr>")
    return "".join(lines) + "</table>"


def _quota(row: dict) -> str:
    minute, day = row.get("quota_units_last_minute"), row.get("quota_units_last_day")
    return '<span class="muted">not measured</span>' if minute is None else f"{minute} / {day}"


def _next_run(state: str, next_run: datetime | None, now: datetime) -> str:
    # A job may linger a few seconds after its inbox stopped; the pass would skip it anyway.
    waiting = {"paused": "not while paused", "needs_reauth": "after consent is given again"}
    return f'<span class="muted">{waiting[state]}</span>' if state in waiting else when_words(next_run, now)


def _suspended_table(rows: list[dict], now: datetime) -> str:
    if not rows:
        return '<p class="muted">Nothing held back.</p>'
    more = (f'<p class="muted">The {HELD_BACK_SHOWN} newest of {len(rows)}; all of them: '
            f"<code>GET /suspended</code> or <code>gmail-connector suspended list</code></p>"
            if len(rows) > HELD_BACK_SHOWN else "")
    rows = rows[:HELD_BACK_SHOWN]
    lines = ["<table><tr><th>Received</th><th>From</th><th>Subject</th><th>Why held back</th><th></th></tr>"]
    for row in rows:
        actions = _button(f"/suspended/{int(row['id'])}/recover", "Recover") + " " + \
            _button(f"/suspended/{int(row['id'])}/delete", "Delete")
        lines.append(f"<tr><td>{moment(row['received_at'], now)}</td><td>{escape(row['from'])}</td>"
                     f"<td>{escape(row['subject'])}</td><td>{escape(row['reason'])}</td><td>{actions}</td></tr>")
    return "".join(lines) + "</table>" + more


def _helpdesk_links(links: list[dict]) -> str:
    """Each delivered ticket links to the helpdesk; only http(s) addresses become links."""
    shown = []
    for link in links:
        label = escape(f"{link['destination']} #{link['id']}")
        url = link.get("url") or ""
        shown.append(f'<a href="{escape(url)}" rel="noopener noreferrer">{label}</a>'
                     if url.startswith(("https://", "http://")) else label)
    return ", ".join(shown)


def _ticket_table(rows: list[dict], now: datetime, total: int) -> str:
    if not rows:
        return '<p class="muted">No tickets yet.</p>'
    lines = ["<table><tr><th>#</th><th>Subject</th><th>Requester</th><th>Status</th><th>Inbox</th>"
             "<th>Created</th><th>In the helpdesk</th></tr>"]
    for row in rows:
        requester = row["requester"]["name"] or row["requester"]["email"]
        lines.append(f"<tr><td>{int(row['id'])}</td><td>{escape(row['subject'])}</td><td>{escape(requester)}</td>"
                     f"<td>{escape(row['status'])}</td><td>{escape(row['inbox'] or '')}</td>"
                     f"<td>{moment(row['created_at'], now)}</td><td>{_helpdesk_links(row.get('helpdesk', []))}</td></tr>")
    more = (f'<p class="muted">The {len(rows)} newest of {total}; all of them: <code>GET /tickets</code></p>'
            if total > len(rows) else "")
    return "".join(lines) + "</table>" + more
