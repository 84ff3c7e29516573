"""Finding what an earlier attempt delivered to FreeScout, by the key marker in its threads (freescout_content).

FreeScout can search conversations by customer but not by text (https://api-docs.freescout.net/
#list-conversations), and `find_ticket` is handed our key only. So the requester of each ticket
the adapter opened is remembered in memory: the usual lost answer (a timeout) is found among
that customer's conversations. After a restart the newest-updated conversations of all mailboxes
are read instead, at most SCAN_PAGES pages of them: a conversation made by a crashed attempt was
updated last when it was made, so it sits near the top unless hundreds were updated since.
List Conversations filters by ONE status ("defaults to active"; a comma list is not documented and
the module drops a value it does not know), so each status is asked for on its own.
"""
from __future__ import annotations

from typing import Iterable

from connector.helpdesk.freescout_api import FreeScoutApi
from connector.helpdesk.freescout_content import has_marker

# Every status, one list each: the list answers only active conversations unless told otherwise.
STATUSES = ("active", "pending", "closed", "spam")
CUSTOMER_PAGES, SCAN_PAGES, PAGE = 2, 5, 50


def find_conversation(api: FreeScoutApi, key: str, requester: str | None) -> int | None:
    """The id of the conversation whose thread carries our ticket key, oldest first when there are several."""
    base = {"embed": "threads", "sortField": "updatedAt", "sortOrder": "desc", "pageSize": PAGE}
    if requester:
        found = _listed_carrying(api, {**base, "customerEmail": requester}, CUSTOMER_PAGES, key)
        if found is not None:
            return found
    return _listed_carrying(api, base, SCAN_PAGES, key)


def find_thread(conversation: dict, key: str) -> int | None:
    """The id of the conversation's thread that carries our message key."""
    for thread in _threads(conversation):
        if has_marker(str(thread.get("body") or ""), "message", key):
            return int(thread["id"])
    return None


def _listed_carrying(api: FreeScoutApi, params: dict, pages: int, key: str) -> int | None:
    found = [_carrying(api.pages("/api/conversations", "conversations", {**params, "status": status},
                                 max_pages=pages), key) for status in STATUSES]
    return min((number for number in found if number is not None), default=None)


def _carrying(conversations: Iterable[dict], key: str) -> int | None:
    found = [int(c["id"]) for c in conversations
             if any(has_marker(str(t.get("body") or ""), "ticket", key) for t in _threads(c))]
    return min(found) if found else None


def _threads(conversation: dict) -> list[dict]:
    threads = (conversation.get("_embedded") or {}).get("threads") or []
    return [t for t in threads if isinstance(t, dict) and t.get("id") is not None]
