"""Dashboard sections for forwarded addresses (with DNS health) and outgoing mail; every stored value is escaped."""
from __future__ import annotations

import re
from datetime import datetime
from html import escape
from urllib.parse import urlsplit

from connector.admin.layout import table, ticket_href
from connector.admin.words import age_words, when_words

_STATE_BADGES = {"verified": ("ok", "verified"), "forwarding_active": ("ok", "forwarding, not yet verified"),
                 "awaiting_confirmation": ("warn", "awaiting Google's confirmation"),
                 "not_configured": ("idle", "not configured"), "failed": ("bad", "failed")}
_DNS_BADGES = {"ok": "ok", "warn": "warn", "fail": "bad"}
# Where Google's forwarding confirmation links point; the sandbox's point at its own endpoint.
GOOGLE_CONFIRMATION_HOSTS = frozenset({"mail.google.com", "mail-settings.google.com"})
# Browsers read a backslash as "/" and skip whitespace, so such a link may open another host than
# urlsplit sees: only plain URL characters are considered at all.
_PLAIN_URL = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")


def forwarding_table(rows: list[dict], now: datetime, api_endpoint: str = "") -> str:
    """`api_endpoint`: the configured GMAIL_API_ENDPOINT, whose (sandbox) links are clickable too."""
    if not rows:
        return ('<p class="muted">No external addresses forwarded: '
                "<code>gmail-connector addresses add EXTERNAL --group GROUP</code></p>")
    lines = []
    for row in rows:
        lines.append(
            f"<tr><td>{escape(row['external_address'])}</td><td>{escape(row['support_address'])}</td>"
            f"<td>{escape(row['group'])}</td><td>{_provider(row)}{_forwarding_health(row, api_endpoint)}</td>"
            f"<td>{dns_badge(row.get('dns'), now)}</td>"
            f"<td>{moment(row['last_check_at'], now)}</td><td>{moment(row['verified_at'], now)}</td></tr>")
    head = ["External address", "Forwards to", "Group", "Forwarding", "DNS", "Last check", "Last verified"]
    return table(head, lines, "Forwarded external addresses")


def _provider(row: dict) -> str:
    # Another provider's forwarding is set up by its admin; only Gmail's is checked daily through the API.
    return '<span class="muted">other provider</span><br>' if row.get("provider") == "other" else ""


def _forwarding_health(row: dict, api_endpoint: str) -> str:
    css, words = _STATE_BADGES.get(row["state"], ("idle", row["state"]))
    html = f'<span class="badge {css}">{escape(words)}</span>'
    if row["failure_reason"]:
        html += f'<br><span class="reason">{escape(row["failure_reason"])}</span>'
    if row["confirmation_code"]:
        html += f'<br>confirmation code <code>{escape(row["confirmation_code"])}</code>'
    if row["confirmation_link"]:
        html += confirmation_link(row["confirmation_link"], api_endpoint)
    multi = row.get("multi_forward")
    if multi:
        html += (f'<br><span class="badge warn">forwarded twice: {multi["tickets"]} '
                 f'{"ticket" if multi["tickets"] == 1 else "tickets"}</span> '
                 f'<span class="reason">{escape(multi["reason"])}</span>')
    return html


def confirmation_link(link: str, api_endpoint: str = "") -> str:
    """Clickable only when it leads to Google (or the configured sandbox); else inert text with a warning."""
    if is_trusted_link(link, api_endpoint):
        return (f'<br><a href="{escape(link)}" rel="noreferrer noopener" target="_blank">'
                "open Google's confirmation link</a>")
    return (f"<br>confirmation link <code>{escape(link)}</code> "
            '<span class="badge warn">not a Google address: the mail may be forged, do not open it</span>')


def is_trusted_link(link: str, api_endpoint: str = "") -> bool:
    # Anyone can mail a support address, so the stored link is hostile input until its host is known.
    if not _PLAIN_URL.fullmatch(link):
        return False
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    if parts.scheme == "https" and port is None and parts.hostname in GOOGLE_CONFIRMATION_HOSTS:
        return True
    if not api_endpoint:
        return False
    sandbox = urlsplit(api_endpoint)
    return (parts.scheme, parts.hostname, port) == (sandbox.scheme, sandbox.hostname, sandbox.port)


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


def helpdesk_summary(helpdesk: dict | None) -> str:
    if not helpdesk or helpdesk["destination"] == "builtin":
        return '<p class="muted">Tickets stay in the connector\'s own store (HELPDESK=builtin).</p>'
    problems = "".join(f'<p><span class="badge bad">misconfigured</span> {escape(p)}</p>'
                       for p in helpdesk["configuration_problems"])
    failed = helpdesk["failed"]
    alarm = (f' <span class="badge bad">{failed} refused: gmail-connector helpdesk failed</span>' if failed else "")
    waiting = helpdesk["oldest_waiting_age_seconds"]
    html = (f'<p class="chips">to <b>{escape(helpdesk["destination"])}</b> · <b>{helpdesk["queued"]}</b> waiting'
            f'{alarm} · delivered in 24 h: <b>{helpdesk["delivered_last_24h"]}</b>'
            + (f' · oldest waiting {escape(age_words(waiting))}' if waiting is not None else "")
            + (f' · answers to read: <b>{helpdesk["answers_to_read"]}</b>' if helpdesk.get("answers_to_read") else "")
            + "</p>")
    if helpdesk["last_error"]:
        html += f'<p>last error: {escape(helpdesk["last_error"])}</p>'
    if helpdesk["fix"]:
        html += f'<p>fix: {escape(helpdesk["fix"])}</p>'
    return problems + html


def _failures_table(rows: list[dict], now: datetime) -> str:
    if not rows:
        return ""
    lines = []
    for row in rows:
        ticket = f'<a class="ticket" href="{ticket_href(row["ticket_id"])}">#{int(row["ticket_id"])}</a>'
        lines.append(f"<tr><td>{ticket}</td><td>{escape(row['to'])}</td><td>{escape(row['subject'])}</td>"
                     f"<td>{escape(row['last_error'] or '')}</td><td>{moment(row['updated_at'], now)}</td></tr>")
    return table(["Ticket", "To", "Subject", "Why it failed", "Last attempt"], lines, "Replies that failed")


def sync_errors(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    chips = "".join(f"<span>{escape(kind)}: <b>{count}</b></span>" for kind, count in counts.items())
    return f'<p class="chips">Failing now, by error: {chips}</p>'
