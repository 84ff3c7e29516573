"""The search page: inboxes and tickets matching the `q` typed into every page's banner; all escaped."""
from __future__ import annotations

from datetime import datetime
from html import escape

from connector.admin.layout import inbox_href, page, table
from connector.admin.render_sections import moment
from connector.admin.render_tables import ticket_table
from connector.admin.words import state_words
from connector.store.page_queries import SEARCH_LIMIT
from connector.store.types import iso_utc


def render_search_page(q: str, found: dict, now: datetime) -> str:
    inboxes, tickets = found["inboxes"], found["tickets"]
    if not q.strip():
        body = ["<h1>Search</h1>", '<p>Type an inbox address or group, a ticket number (<code>#12</code>), '
                "a subject or a requester in the search box above.</p>"]
    else:
        body = [f"<h1>Search results for “{escape(q)}”</h1>",
                f"<h2>Inboxes ({_count(inboxes)})</h2>", _inboxes(inboxes, now),
                f"<h2>Tickets ({_count(tickets)})</h2>",
                ticket_table(tickets, now, label="Tickets found") if tickets else '<p class="muted">No ticket matches.</p>']
    return page(f"Search {q}: gmail-connector" if q else "Search: gmail-connector",
                '<p><a href="/">back to the overview</a></p>', "\n".join(body), q=q)


def _count(rows: list) -> str:
    return f"the first {SEARCH_LIMIT}" if len(rows) >= SEARCH_LIMIT else str(len(rows))


def _inboxes(rows: list, now: datetime) -> str:
    if not rows:
        return '<p class="muted">No inbox matches.</p>'
    lines = [f'<tr><td><a href="{inbox_href(i.address)}">{escape(i.address)}</a></td><td>{escape(i.group)}</td>'
             f"<td>{escape(state_words(i.state))}</td><td>{moment(iso_utc(i.last_success_at), now)}</td></tr>"
             for i in rows]
    return table(["Inbox", "Group", "State", "Last successful pass"], lines, "Inboxes found")
