"""The dashboard's held-back and ticket lists; every stored value passes through html.escape."""
from __future__ import annotations

from datetime import datetime
from html import escape

from connector.admin.layout import flags, table, ticket_href
from connector.admin.render_sections import moment

HELD_BACK_SHOWN = 100   # the rest stay one click away in /suspended; a page of thousands helps nobody


def button(action: str, label: str, name: str = "") -> str:
    """A POST form; `name` says which row it acts on, for screen readers hearing "Recover" twenty times."""
    aria = f' aria-label="{escape(f"{label} {name}")}"' if name else ""
    return (f'<form method="post" action="{escape(action)}"><button type="submit"{aria}>{escape(label)}</button>'
            "</form>")


def suspended_table(rows: list[dict], now: datetime, total: int | None = None) -> str:
    """The newest held-back mail; `total` (default: the rows given) says how many are held back in all."""
    if not rows:
        return '<p class="muted">Nothing held back.</p>'
    total = len(rows) if total is None else max(total, len(rows))
    more = (f'<p class="muted">The {HELD_BACK_SHOWN} newest of {total}; all of them: '
            f"<code>GET /suspended</code> or <code>gmail-connector suspended list</code></p>"
            if total > HELD_BACK_SHOWN else "")
    lines = []
    for row in rows[:HELD_BACK_SHOWN]:
        which = f"held-back mail {int(row['id'])} from {row['from']}"
        actions = (button(f"/suspended/{int(row['id'])}/recover", "Recover", which) + " "
                   + button(f"/suspended/{int(row['id'])}/delete", "Delete", which))
        lines.append(f"<tr><td>{moment(row['received_at'], now)}</td><td>{escape(row['from'])}</td>"
                     f"<td>{escape(row['subject'])}</td><td>{escape(row['reason'])}</td><td>{actions}</td></tr>")
    return table(["Received", "From", "Subject", "Why held back", "Actions"], lines, "Held-back mail") + more


def helpdesk_links(links: list[dict]) -> str:
    """Each delivered ticket links to the helpdesk; only http(s) addresses become links."""
    shown = []
    for link in links:
        label = escape(f"{link['destination']} #{link['id']}")
        url = link.get("url") or ""
        shown.append(f'<a href="{escape(url)}" rel="noopener noreferrer">{label}</a>'
                     if url.startswith(("https://", "http://")) else label)
    return ", ".join(shown)


def ticket_table(rows: list[dict], now: datetime, total: int | None = None, label: str = "Tickets") -> str:
    """The tickets with their group and flags; each number and subject opens the ticket's page."""
    if not rows:
        return '<p class="muted">No tickets yet.</p>'
    lines = []
    for row in rows:
        requester = row["requester"]["name"] or row["requester"]["email"]
        href = ticket_href(row["id"])
        lines.append(f'<tr><td><a class="ticket" href="{href}">{int(row["id"])}</a></td>'
                     f'<td><a class="ticket" href="{href}">{escape(row["subject"]) or "(no subject)"}</a></td>'
                     f"<td>{escape(requester)}</td><td>{escape(row['status'])}</td>"
                     f"<td>{escape(row.get('group') or '')}</td><td>{flags(row.get('flags') or [])}</td>"
                     f"<td>{escape(row['inbox'] or '')}</td><td>{moment(row['created_at'], now)}</td>"
                     f"<td>{helpdesk_links(row.get('helpdesk', []))}</td></tr>")
    more = (f'<p class="muted">The {len(rows)} newest of {total}; all of them: <code>GET /tickets</code></p>'
            if total is not None and total > len(rows) else "")
    head = ["#", "Subject", "Requester", "Status", "Group", "Flags", "Inbox", "Created", "In the helpdesk"]
    return table(head, lines, label) + more
