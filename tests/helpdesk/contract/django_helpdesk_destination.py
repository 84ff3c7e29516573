"""django-helpdesk (the real one scripts/start-django-helpdesk.sh starts) as a contract destination, read as its agent.

An agent's answer is a follow-up the agent posts through the API; `answer` returns the webhook call
django-helpdesk then really made, as the listener of tests/helpdesk/django_helpdesk_server.py
recorded it on DJANGO_HELPDESK_EVENTS_PORT.
"""
from __future__ import annotations

import json
import re

import requests

from connector.helpdesk.django_helpdesk import DjangoHelpdesk
from connector.helpdesk.port import WebhookCall
from tests.helpdesk.contract.destination import SeenMessage, SeenTicket
from tests.helpdesk.django_helpdesk_server import Agent, DjangoHelpdeskServer, events, find_server

# helpdesk/settings.py: DEFAULT_TICKET_STATUS_CHOICES
STATUSES = {1: "open", 2: "reopened", 3: "resolved", 4: "closed", 5: "duplicate"}
_FROM = re.compile(r"\AFrom: (?:\"[^\"]*\" )?<?([^<>\s]+@[^<>\s]+?)>?$", re.MULTILINE)
WAIT_SECONDS = 5.0


class DjangoHelpdeskDestination:
    name, loses_answers = "django_helpdesk", True
    credits_customer = False        # every follow-up is the API user's; the comment's From line names the customer

    def __init__(self, server: DjangoHelpdeskServer):
        self.server, self.queue = server, server.queue
        self.settings = {"django_helpdesk_url": server.url, "django_helpdesk_user": server.user,
                         "django_helpdesk_password": server.password, "helpdesk_webhook_secret": server.secret}
        self.agent = Agent(server)
        self._agents: dict[int, str] = {}       # user id -> the agent's name, learnt from its own posts

    def helpdesk(self, session: requests.Session) -> DjangoHelpdesk:
        return self.server.adapter(session=session)

    def tickets(self, requester: str) -> list[SeenTicket]:
        found = [ticket for ticket in self.agent.tickets() if ticket["submitter_email"].lower() == requester.lower()]
        return [SeenTicket(str(ticket["id"]), ticket["title"], requester.lower(), str(ticket["queue"]),
                           STATUSES.get(ticket["status"], str(ticket["status"])), self._messages(ticket))
                for ticket in sorted(found, key=lambda ticket: ticket["id"])]

    def _messages(self, ticket: dict) -> list[SeenMessage]:
        seen = []
        for item in sorted(ticket["followup_set"], key=lambda item: item["id"]):
            text = str(item.get("comment") or "").replace("\u200b", "")
            if not text.strip() and not item["followupattachment_set"]:
                continue            # a status change (resolved, reopened), not a message
            author = _FROM.search(text)
            seen.append(SeenMessage(bool(item["public"]), text,
                                    author.group(1).lower() if author else self._agents.get(item["user"], ""),
                                    self.agent.files(item)))
        return seen

    def solve(self, remote_id: str) -> None:
        self.agent.write(remote_id, "", public=False, status=3)

    def answer(self, remote_id: str, text: str, *, public: bool = True) -> WebhookCall:
        written = self.agent.write(remote_id, text, public=public)
        self._agents[written["user"]] = self.server.agent_user
        call = events().wait_for(lambda call: _followup_id(call) == written["id"], WAIT_SECONDS)
        if call is None:
            raise AssertionError(f"django-helpdesk made no webhook call for follow-up {written['id']} within "
                                 f"{WAIT_SECONDS:.0f} s: is HELPDESK_FOLLOWUP_WEBHOOK_URLS set in its environment?")
        return call

    def close(self) -> None:
        # The listener stays up for the rest of the process: django-helpdesk answers 500 to every write
        # while its webhook URL refuses connections.
        self.agent.close()


def _followup_id(call: WebhookCall) -> int | None:
    try:
        body = json.loads(call.body)
    except ValueError:
        return None
    return body.get("followup_id") if isinstance(body, dict) else None


def make_destination(tmp_path) -> DjangoHelpdeskDestination:
    return DjangoHelpdeskDestination(find_server())
