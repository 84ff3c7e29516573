"""Finding what an earlier attempt delivered to Freshdesk, which keeps no idempotency key of its own.

A ticket carries our key as a tag and, in its description's footer, as text. The newest tickets
are listed first (GET /api/v2/tickets reads the database, so a ticket made a second ago is there,
and include=description brings the footer even where the list omits tags); only when that page
does not have it is the search asked (GET /api/v2/search/tickets?query="tag:'KEY'"), whose index
lags by minutes but reaches older tickets. A message is found by its footer in the ticket's
conversations, or in the ticket's description when it was the ticket's first message.
"""
from __future__ import annotations

from connector.helpdesk.freshdesk_api import PAGE, FreshdeskApi
from connector.helpdesk.freshdesk_content import checked_key, has_key


def find_ticket(api: FreshdeskApi, key: str) -> int | None:
    """The lowest id of a ticket with our key (a duplicate made by hand is not ours to pick)."""
    key = checked_key(key)
    newest = api.get("/tickets", {"order_by": "created_at", "order_type": "desc", "per_page": PAGE,
                                  "include": "description"}) or []
    found = [int(t["id"]) for t in newest if key in (t.get("tags") or []) or has_key(t, key)]
    if not found:
        results = (api.get("/search/tickets", {"query": f"\"tag:'{key}'\""}) or {}).get("results") or []
        found = [int(t["id"]) for t in results if _tagged(api, t, key)]
    return min(found) if found else None


def _tagged(api: FreshdeskApi, ticket: dict, key: str) -> bool:
    """A search hit is checked on the ticket itself when the hit does not show its tags."""
    tags = ticket.get("tags")
    if tags is None:
        tags = (api.get(f"/tickets/{int(ticket['id'])}") or {}).get("tags") or []
    return key in tags


def find_message(api: FreshdeskApi, number: int, key: str) -> tuple[bool, str | None]:
    """(found, conversation id): the conversation carrying our key, or the description (id None)."""
    for item in api.pages(f"/tickets/{number}/conversations"):
        if has_key(item, key):
            return True, str(item["id"])
    return has_key(api.get(f"/tickets/{number}") or {}, key), None
