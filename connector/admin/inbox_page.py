"""One inbox's page: its passes, last error with the fix, lease holder, quota and push watch; all escaped."""
from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from connector.admin.chart_data import PER_USER_UNITS_PER_MINUTE, ChartData
from connector.admin.charts import daily_chart, hourly_chart
from connector.admin.fixes import error_kind, fix_for
from connector.admin.layout import page, table
from connector.admin.render_sections import moment
from connector.admin.render_tables import button
from connector.admin.status import credential_state
from connector.admin.words import state_words
from connector.store.types import iso_utc

_STATE_BADGES = {"active": "ok", "paused": "idle", "needs_reauth": "warn", "error": "bad"}


def _facts(pairs: list[tuple[str, str]]) -> str:
    """`pairs`: (label, trusted HTML) — callers escape the values."""
    return '<dl class="facts">' + "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _at(value: datetime | None, now: datetime) -> str:
    return moment(iso_utc(value), now)


def render_inbox_page(data: dict, charts: ChartData, quota: tuple[int, int] | None, now: datetime,
                      next_run: datetime | None, can_sync: bool) -> str:
    inbox = data["inbox"]
    state = inbox.state
    badge = f'<span class="badge {_STATE_BADGES.get(state, "idle")}">{escape(state_words(state))}</span>'
    body = [f"<h1>{escape(inbox.address)} {badge}</h1>", _actions(inbox.address, state, can_sync),
            _facts([("Group", escape(inbox.group)), ("Mode", escape(inbox.mode)),
                    ("Credentials", escape(inbox.credential_kind.replace("_", " "))),
                    ("Tickets from this inbox", f"{data['tickets']:,}")]),
            "<h2>Passes</h2>", _passes(data, now, next_run),
            "<h2>Last error and the fix</h2>", _last_error(data, now),
            '<div class="charts">', hourly_chart(charts, "chart-inbox-hourly", " by this inbox"),
            daily_chart(charts, "chart-inbox-daily", " by this inbox"), "</div>",
            "<h2>Lease</h2>", _lease(data["lease"], now),
            "<h2>Quota</h2>", _quota(quota),
            "<h2>Push</h2>", _push(data["watch"], now),
            "<h2>Messages Gmail would not return</h2>", _fetch_failures(data["fetch_failures"], now)]
    banner = '<p><a href="/">back to the overview</a></p>'
    return page(f"{inbox.address}: gmail-connector", banner, "\n".join(body))


def _actions(address: str, state: str, can_sync: bool) -> str:
    path = "/inboxes/" + quote(address, safe="@")
    toggle = button(f"{path}/resume", "Resume") if state == "paused" else button(f"{path}/pause", "Pause")
    sync = button(f"{path}/sync", "Sync now") if can_sync and state in ("active", "error") else ""
    return f"<p>{sync} {toggle}</p>"


def _passes(data: dict, now: datetime, next_run: datetime | None) -> str:
    inbox = data["inbox"]
    failures = inbox.consecutive_failures
    outcome = ("failed" if inbox.last_error_at and inbox.last_sync_at == inbox.last_error_at
               else "succeeded" if inbox.last_success_at else "none yet")
    waiting = {"paused": "not while paused", "needs_reauth": "after consent is given again"}
    return _facts([
        ("Last pass", f"{_at(inbox.last_sync_at, now)} ({outcome})"),
        ("Last successful pass", _at(inbox.last_success_at, now)),
        ("Failures in a row", f"{failures}" + (f", backing off until {_at(inbox.backoff_until, now)}"
                                                if inbox.backoff_until else "")),
        ("Next pass", escape(waiting[inbox.state]) if inbox.state in waiting else _at(next_run, now)),
        ("Mail imported, all passes", f"{inbox.imported_total:,}"),
        ("History cursor", f"<code>{escape(inbox.history_id)}</code>" if inbox.history_id
         else "none: the first pass backfills"),
        ("Backfill", "done" if inbox.backfill_done else "not finished yet"),
    ]) + ('<p class="muted">The store keeps each inbox\'s latest pass, not a log of every pass; the charts '
          "below count the mail the passes imported, hour by hour.</p>")


def _last_error(data: dict, now: datetime) -> str:
    inbox = data["inbox"]
    credential = credential_state(inbox, data["has_credential"])
    if credential["state"] == "needs_reauth" and not inbox.last_error:
        return _facts([("Problem", escape(credential["message"] or "")),
                       ("Fix", f"<code>{escape(credential['command'])}</code>")])
    if not inbox.last_error:
        return '<p class="muted">No pass of this inbox has failed.</p>'
    current = ('<span class="badge bad">failing now</span>' if inbox.consecutive_failures or inbox.state == "needs_reauth"
               else '<span class="badge ok">resolved: a later pass succeeded</span>')
    return _facts([("When", f"{_at(inbox.last_error_at, now)} {current}"),
                   ("Kind", f"<code>{escape(error_kind(inbox.last_error))}</code>"),
                   ("What Gmail or the daemon said", escape(inbox.last_error.partition(" — ")[0])),
                   ("Fix", escape(fix_for(inbox.last_error, inbox.address)))])


def _lease(lease, now: datetime) -> str:
    if lease is None:
        return '<p class="muted">No daemon holds this inbox now: the next daemon round claims it if it is active.</p>'
    expired = lease.expires_at is not None and lease.expires_at <= now
    return _facts([("Held by", f"<code>{escape(lease.holder)}</code>"), ("Since", _at(lease.acquired_at, now)),
                   ("Until", _at(lease.expires_at, now) + (' <span class="badge warn">expired</span>' if expired else ""))])


def _quota(quota: tuple[int, int] | None) -> str:
    if quota is None:
        return '<p class="muted">Not measured: API units are counted by the running daemon, not read from the store.</p>'
    minute, day = quota
    share = minute / PER_USER_UNITS_PER_MINUTE
    return _facts([("Units, last minute", f"{minute:,} of {PER_USER_UNITS_PER_MINUTE:,} ({share:.0%} of Google's "
                                          "per-user limit)"),
                   ("Units, last day", f"{day:,}")])


def _push(watch, now: datetime) -> str:
    if watch is None:
        return '<p class="muted">Never watched: push is off (PUBSUB_TOPIC unset) or not set up for this inbox yet.</p>'
    working = watch.expiration is not None and watch.expiration > now and watch.error is None
    state = ('<span class="badge ok">watching</span>' if working else
             '<span class="badge warn">not watching</span>')
    rows = [("State", state), ("Topic", f"<code>{escape(watch.topic)}</code>" if watch.topic else "none"),
            ("Watch expires", _at(watch.expiration, now)), ("Last renewed", _at(watch.renewed_at, now)),
            ("Notifications", f"{watch.notifications:,}, the last {_at(watch.last_notification_at, now)}"),
            ("Caught by the safety-net poll", f"{watch.recovered_by_poll:,}")]
    if watch.error:
        rows.append(("Why Gmail refused the watch", f"{escape(watch.error)} ({_at(watch.error_at, now)})"))
    return _facts(rows)


def _fetch_failures(rows: list, now: datetime) -> str:
    if not rows:
        return '<p class="muted">None: every message listed was fetched.</p>'
    lines = [f"<tr><td><code>{escape(r.gmail_id)}</code></td><td class=\"num\">{r.attempts}</td>"
             f"<td>{_at(r.first_failed_at, now)}</td><td>{_at(r.last_failed_at, now)}</td>"
             f"<td>{escape(r.last_error)}</td></tr>" for r in rows]
    return table(["Gmail id", "Attempts", "First failed", "Last failed", "Last error"], lines,
                 "Messages Gmail would not return")
