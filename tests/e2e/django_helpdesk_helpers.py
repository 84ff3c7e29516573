"""django-helpdesk as the end-to-end tests see it: the daemon's settings for it, and one installation's tickets.

The test django-helpdesk (scripts/start-django-helpdesk.sh) is shared by every run and keeps its
database, so a test reads only the tickets made after it started, and of those only the ones whose
marker line carries its installation's key (`[gmail-connector ticket=gmc-<installation>-t<n> ...]`).
The markers are read with the tests' own pattern, not the adapter's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.helpdesk.django_helpdesk_server import TIMEOUT, Agent, DjangoHelpdeskServer

_MARKER = re.compile(r"\[gmail-connector(?: ticket=(?P<ticket>\S+))? message=(?P<message>\S+) "
                     r"files=(?P<files>\d+)\]\s*\Z")


def daemon_settings(server: DjangoHelpdeskServer, group: str = "Support") -> dict[str, str]:
    """HELPDESK=django_helpdesk as settings.env gives it; `group` is the inbox's group."""
    return {"HELPDESK": "django_helpdesk", "DJANGO_HELPDESK_URL": server.url, "DJANGO_HELPDESK_USER": server.user,
            "DJANGO_HELPDESK_PASSWORD": server.password, "DJANGO_HELPDESK_TOKEN": "",
            "HELPDESK_QUEUES": f"{group}={server.queue}", "HELPDESK_WEBHOOK_SECRET": server.secret}


@dataclass(frozen=True)
class Marker:
    ticket: str | None
    message: str
    files: int


def marker(text: Any) -> Marker | None:
    """The marker line a text of the connector ends with, or None (an agent's follow-up, a status change)."""
    found = _MARKER.search(str(text or "").replace("\u200b", ""))
    return Marker(found["ticket"], found["message"], int(found["files"])) if found else None


def last_ticket_id(agent: Agent) -> int:
    """The newest ticket's id (0 for none): the tests read only the tickets after it."""
    count = _page(agent, 1, 1)["count"]
    return int(_page(agent, count, 1)["results"][-1]["id"]) if count else 0


def tickets_after(agent: Agent, after_id: int, page_size: int = 50) -> list[dict[str, Any]]:
    """Tickets with an id above `after_id`, oldest first, read from the last page backwards (the API lists by id)."""
    count = _page(agent, 1, 1)["count"]
    found: list[dict[str, Any]] = []
    for number in range((count + page_size - 1) // page_size, 0, -1):
        page = _page(agent, number, page_size)["results"]
        found += [ticket for ticket in page if ticket["id"] > after_id]
        if not page or page[0]["id"] <= after_id:
            break
    return sorted(found, key=lambda ticket: ticket["id"])


def tickets_of(agent: Agent, installation: str, after_id: int) -> list[dict[str, Any]]:
    """This installation's tickets among those after `after_id`."""
    prefix = f"gmc-{installation}-t"
    return [ticket for ticket in tickets_after(agent, after_id)
            if (found := marker(ticket["description"])) and (found.ticket or "").startswith(prefix)]


def followups(ticket: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(ticket["followup_set"], key=lambda item: item["id"])


def message_keys(ticket: dict[str, Any]) -> list[str | None]:
    """The marker's message key of each follow-up with words or files, oldest first (None: not the connector's)."""
    return [(found.message if (found := marker(item["comment"])) else None) for item in followups(ticket)
            if str(item.get("comment") or "").strip() or item["followupattachment_set"]]


def _page(agent: Agent, number: int, size: int) -> dict[str, Any]:
    answer = agent.session.get(f"{agent.url}/api/tickets/", params={"page_size": size, "page": number},
                               timeout=TIMEOUT)
    answer.raise_for_status()
    return answer.json()
