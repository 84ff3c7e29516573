"""The frame every admin page shares: head, skip link, banner with search, and the main landmark."""
from __future__ import annotations

from functools import cache
from html import escape
from importlib.resources import files
from urllib.parse import quote

SEARCH_PATH = "/dashboard/search"


@cache
def stylesheet() -> str:
    # Read on first use, not on import; inlined because the CSP admits no stylesheet from anywhere.
    return files("connector.admin").joinpath("dashboard.css").read_text(encoding="utf-8")


def page(title: str, banner: str, body: str, refresh_seconds: int | None = None, q: str = "") -> str:
    """A whole HTML document. `banner`: trusted HTML under the product name; `body`: the main content."""
    refresh = f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">' if refresh_seconds else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">{refresh}'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{stylesheet()}</style></head><body>"
            f'<a class="skip" href="#main">Skip to the content</a>'
            f'<header><div><p class="brand"><a href="/">gmail-connector</a></p>{banner}</div>'
            f'<nav aria-label="Search"><form role="search" method="get" action="{SEARCH_PATH}">'
            f'<label for="q">Search inboxes and tickets</label>'
            f'<input id="q" name="q" type="search" value="{escape(q)}" placeholder="address, subject, #12">'
            f'<button type="submit">Search</button></form></nav></header>'
            f'<main id="main" tabindex="-1">{body}</main></body></html>')


def inbox_href(address: str) -> str:
    return "/dashboard/inboxes/" + quote(address, safe="@")


def ticket_href(ticket_id: int) -> str:
    return f"/dashboard/tickets/{int(ticket_id)}"


def table(head: list[str], rows: list[str], label: str) -> str:
    """A table in a scrolling box (keyboard-focusable, named), so a wide one never widens the page.

    Each cell repeats its column's name in data-label: on a phone the rows stack as labelled cards."""
    cells = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    labels = [f' data-label="{escape(h)}"' for h in head]
    body = "".join(_labelled(row, labels) for row in rows)
    return (f'<div class="table-wrap" role="region" aria-label="{escape(label)}" tabindex="0">'
            f'<table class="stack"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></div>')


def _labelled(row: str, labels: list[str]) -> str:
    # Rows are this package's own markup: "<td" opens exactly one cell of the row, in column order.
    parts = row.split("<td")
    return parts[0] + "".join(f"<td{labels[n] if n < len(labels) else ''}{part}" for n, part in enumerate(parts[1:]))


def flags(names: list[str]) -> str:
    return "".join(f'<span class="flag">{escape(name.replace("_", " "))}</span>' for name in names)
