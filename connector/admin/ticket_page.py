"""One ticket's page: its messages with attachments, the replies and their delivery, the helpdesk's copy.

Mail bodies are strangers' text: shown escaped in <pre>, never as HTML, whatever the mail's HTML part says.
"""
from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Callable
from urllib.parse import urlsplit

from connector.admin.layout import flags, inbox_href, page, table
from connector.admin.render_sections import moment
from connector.admin.render_tables import helpdesk_links
from connector.admin.words import duration_words
from connector.store.page_queries import seconds_between
from connector.store.types import iso_utc

_REPLY_BADGES = {"sent": "ok", "queued": "idle", "sending": "idle", "waiting_cap": "warn", "failed": "bad",
                 "private": "idle"}
_EVENT_BADGES = {"delivered": "ok", "queued": "idle", "delivering": "idle", "failed": "bad"}


def _at(value: datetime | None, now: datetime) -> str:
    return moment(iso_utc(value), now)


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 10_000 else f"{n / 1024:,.0f} KB" if n < 10_000_000 else f"{n / 1048576:,.1f} MB"


def render_ticket_page(data: dict, now: datetime, link_for: Callable[[int], str] | None) -> str:
    ticket = data["ticket"]
    requester = (f"{escape(ticket.requester_name)} &lt;{escape(ticket.requester_email)}&gt;" if ticket.requester_name
                 else escape(ticket.requester_email))
    inbox = f'<a href="{inbox_href(data["inbox"])}">{escape(data["inbox"])}</a>' if data["inbox"] else "none (removed)"
    facts = [("Status", escape(ticket.status)), ("Requester", requester), ("Group", escape(ticket.group)),
             ("Flags", flags([f for f in ticket.flags.split(",") if f]) or "none"), ("Inbox", inbox),
             ("Sent to", escape(ticket.received_at_address)), ("Created", _at(ticket.created_at, now)),
             ("Updated", _at(ticket.updated_at, now)),
             ("In the helpdesk", helpdesk_links([{"destination": link.destination, "id": link.remote_id, "url": link.url}
                                                 for link in data["links"]]) or "not delivered yet")]
    body = [f"<h1>Ticket #{int(ticket.id)}: {escape(ticket.subject) or '(no subject)'}</h1>",
            '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>",
            f"<h2>Messages ({len(data['comments'])})</h2>",
            *[_message(c, data["attachments"].get(c.id, []), data["arrivals"].get(c.raw_mail_id), now, link_for)
              for c in data["comments"]],
            "<h2>Replies</h2>", _replies(data["replies"], now),
            "<h2>Helpdesk delivery</h2>", _events(data["events"], now)]
    return page(f"Ticket #{int(ticket.id)}: gmail-connector", '<p><a href="/">back to the overview</a></p>',
                "\n".join(body))


def _message(comment, attachments: list, arrival, now: datetime, link_for) -> str:
    author = (f"{escape(comment.author_name)} &lt;{escape(comment.author_email)}&gt;" if comment.author_name
              else escape(comment.author_email) or "(unknown sender)")
    kind = "from the customer" if comment.direction == "inbound" else "from the helpdesk"
    kind += "" if comment.public else ", private note"
    lines = [f'<article class="message" aria-labelledby="msg-{int(comment.id)}">'
             f'<h3 id="msg-{int(comment.id)}">{author}</h3>'
             f'<p class="muted">{escape(kind)} · {_at(comment.created_at, now)}{_latency(comment, arrival)}</p>']
    if comment.cc_addresses:
        lines.append(f"<p>Cc: {escape(comment.cc_addresses.replace(',', ', '))}</p>")
    text = comment.body_text or ("(this mail has only an HTML part, not shown here)" if comment.body_html else "(empty)")
    lines.append(f"<pre>{escape(text)}</pre>")
    if comment.notes:
        lines.append('<ul class="plain">' + "".join(f"<li>{escape(n)}</li>" for n in comment.notes.splitlines() if n)
                     + "</ul>")
    if attachments:
        lines.append("<h4>Attachments</h4><ul class=\"plain\">" + "".join(_attachment(a, link_for) for a in attachments)
                     + "</ul>")
    return "".join(lines) + "</article>"


def _latency(comment, arrival) -> str:
    if arrival is None or comment.direction != "inbound":
        return ""
    internal_date, received_at, source = arrival
    arrived = internal_date or received_at
    delay = seconds_between(comment.created_at, arrived)
    where = "Gmail" if source == "gmail" and internal_date else "the connector"
    return "" if delay is None else f" · ticketed {escape(duration_words(delay))} after reaching {where}"


def _attachment(row, link_for) -> str:
    name = escape(row.filename or "attachment")
    what = f"{escape(row.content_type)}, {_size(row.size)}" + (", inline" if row.inline else "")
    if link_for is None:
        return f'<li>{name} <span class="muted">({what}; download links need WEBHOOK_SECRET)</span></li>'
    # The signed link is absolute for webhook receivers; the page links within its own origin.
    parts = urlsplit(link_for(int(row.id)))
    href = escape(parts.path + "?" + parts.query)
    return f'<li><a href="{href}" download>{name}</a> <span class="muted">({what})</span></li>'


def _replies(replies: list, now: datetime) -> str:
    if not replies:
        return '<p class="muted">No reply or note written on this ticket yet.</p>'
    lines = []
    for reply, files in replies:
        state = "private" if reply.private else reply.state
        badge = f'<span class="badge {_REPLY_BADGES.get(state, "idle")}">{escape(state.replace("_", " "))}</span>'
        detail = (f"sent {_at(reply.sent_at, now)} by {escape(reply.transport)}" if reply.sent_at
                  else f"next try {_at(reply.next_attempt_at, now)}" if reply.next_attempt_at and state != "failed" else "")
        lines.append(f"<tr><td>{_at(reply.created_at, now)}</td><td>{escape(reply.from_address)}</td>"
                     f"<td>{escape(reply.to_addresses.replace(',', ', '))}</td><td>{escape(reply.subject)}</td>"
                     f"<td>{badge} {detail}</td><td class=\"num\">{reply.attempts}</td>"
                     f"<td>{escape(reply.last_error or '')}</td><td>{escape(', '.join(files))}</td></tr>")
    return table(["Written", "From", "To", "Subject", "Delivery", "Attempts", "Last error", "Attachments"], lines,
                 "Replies and their delivery")


def _events(events: list, now: datetime) -> str:
    if not events:
        return '<p class="muted">Nothing for the helpdesk: tickets stay in the connector\'s own store, or none is due.</p>'
    lines = [f"<tr><td>{escape(e.kind)}</td><td><span class=\"badge {_EVENT_BADGES.get(e.state, 'idle')}\">"
             f"{escape(e.state)}</span></td><td>{escape(e.destination)}</td><td class=\"num\">{e.attempts}</td>"
             f"<td>{_at(e.delivered_at, now)}</td><td>{escape(e.last_error or '')}</td></tr>" for e in events]
    return table(["Change", "State", "Helpdesk", "Attempts", "Delivered", "Last error"], lines, "Helpdesk delivery")
