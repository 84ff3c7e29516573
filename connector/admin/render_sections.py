"""Dashboard sections for forwarded addresses (with DNS health) and outgoing mail; every stored value is escaped."""
from __future__ import annotations

from datetime import datetime
from html import escape

from connector.admin.words import when_words

_STATE_BADGES = {"verified": ("ok", "verified"), "forwarding_active": ("ok", "forwarding, not yet verified"),
                 "awaiting_confirmation": ("warn", "awaiting Google's confirmation"),
                 "not_configured": ("idle", "not configured"), "failed": ("bad", "failed")}
_DNS_BADGES = {"ok": "ok", "warn": "warn", "fail": "bad"}


def forwarding_table(rows: list[dict], now: datetime) -> str:
    if not rows:
        return ('<p class="muted">No external addresses forwarded: '
                "<code>gmail-connector addresses add EXTERNAL --group GROUP</code></p>")
    lines = ["<table><tr><th>External address</th><th>Forwards to</th><th>Group</th><th>Forwarding</th>"
             "<th>DNS</th><th>Last check</th><th>Last verified</th></tr>"]
    for row in rows:
        lines.append(
            f"<tr><td>{escape(row['external_address'])}</td><td>{escape(row['support_address'])}</td>"
            f"<td>{escape(row['group'])}</td><td>{_forwarding_health(row)}</td>"
            f"<td>{dns_badge(row.get('dns'), now)}</td>"
            f"<td>{moment(row['last_check_at'], now)}</td><td>{moment(row['verified_at'], now)}</td></tr>")
    return "".join(lines) + "</table>"


def _forwarding_health(row: dict) -> str:
    css, words = _STATE_BADGES.get(row["state"], ("idle", row["state"]))
    html = f'<span class="badge {css}">{escape(words)}</span>'
    if row["failure_reason"]:
        html += f'<br><span class="reason">{escape(row["failure_reason"])}</span>'
    if row["confirmation_code"]:
        html += f'<br>confirmation code <code>{escape(row["confirmation_code"])}</code>'
    link = row["confirmation_link"]
    if link:
        # Only Google's https links become clickable; anything else stays inert text to copy.
        if link.startswith("https://"):
            html += (f'<br><a href="{escape(link)}" rel="noreferrer noopener" target="_blank">'
                     "open Google's confirmation link</a>")
        else:
            html += f"<br>confirmation link <code>{escape(link)}</code>"
    return html


def dns_badge(dns: dict | None, now: datetime) -> str:
    """ok / warn / fail for the domain's SPF, DKIM and DMARC, with the first thing to fix beneath."""
    if dns is None:
        return '<span class="badge idle">not checked yet</span>'
    css = _DNS_BADGES.get(dns["overall"], "idle")
    first = _first_fix(dns)
    hover = f' title="{escape(first)}"' if first else ""
    html = f'<span class="badge {css}"{hover}>DNS {escape(dns["overall"])}</span> {moment(dns["checked_at"], now)}'
    return html + (f'<br><span class="reason">{escape(first)}</span>' if first else "")


def _first_fix(dns: dict) -> str | None:
    if dns.get("error"):
        return f"DNS lookup failed: {dns['error']}"
    for name in ("spf", "dkim", "dmarc"):
        record = dns.get(name)
        if record and record["status"] != "ok" and record.get("fix"):
            return f"{name.upper()}: {record['fix']}"
    return None


def moment(iso: str | None, now: datetime) -> str:
    """A stored time in words, with the exact UTC time on hover."""
    if not iso:
        return '<span class="muted">never</span>'
    return f'<span title="{escape(iso)}">{escape(when_words(datetime.fromisoformat(iso), now))}</span>'


def outgoing_summary(outgoing: dict, now: datetime) -> str:
    if not outgoing["by_state"]:
        return '<p class="muted">No replies sent or queued yet.</p>'
    failed = outgoing["failed"]
    alarm = (f' <span class="badge bad">{failed} failed to send</span>' if failed else "")
    states = "".join(f"<span>{escape(state)}: <b>{count}</b></span>" for state, count in outgoing["by_state"].items())
    html = f'<p class="chips"><b>{outgoing["pending"]}</b> waiting to be sent{alarm} · {states}</p>'
    return html + _failures_table(outgoing.get("recent_failures", []), now)


def _failures_table(rows: list[dict], now: datetime) -> str:
    if not rows:
        return ""
    lines = ["<table><tr><th>Ticket</th><th>To</th><th>Subject</th><th>Why it failed</th><th>Last attempt</th></tr>"]
    for row in rows:
        lines.append(f"<tr><td>#{int(row['ticket_id'])}</td><td>{escape(row['to'])}</td><td>{escape(row['subject'])}</td>"
                     f"<td>{escape(row['last_error'] or '')}</td><td>{moment(row['updated_at'], now)}</td></tr>")
    return "".join(lines) + "</table>"


def sync_errors(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    chips = "".join(f"<span>{escape(kind)}: <b>{count}</b></span>" for kind, count in counts.items())
    return f'<p class="chips">Failing now, by error: {chips}</p>'
