"""The Freshdesk destination for the shared contract suite: the real adapter over the stateful Freshdesk fake.

Agents answer the way the guide asks, with a public note (a Reply would be mailed by Freshdesk
itself); the automation rule then calls /helpdesk/events/SECRET with {"ticket_id": "{{ticket.id}}"}.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import requests
import responses

from connector.helpdesk.freshdesk import Freshdesk
from connector.helpdesk.port import Helpdesk, WebhookCall
from tests.helpdesk.contract.destination import Destination, SeenMessage, SeenTicket
from tests.helpdesk.fakes.freshdesk_api import KEY, STATUS, URL, FreshdeskFake

SECRET = "freshdesk-contract-path-secret"


class FreshdeskDestination:
    name = "freshdesk"
    queue = "Support"
    settings = {"freshdesk_url": URL, "freshdesk_api_key": KEY, "helpdesk_webhook_secret": SECRET}
    loses_answers = True
    credits_customer = True         # notes are credited to the customer's contact (user_id)

    def __init__(self) -> None:
        # Freshdesk's clock is now: answers are read back "since" when the connector linked the ticket.
        self.fake = FreshdeskFake(start=datetime.now(timezone.utc).replace(microsecond=0))
        self.agent = self.fake.add_agent("Agent Smith", "smith@shop.example")
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False,
                                            passthru_prefixes=("http://127.0.0.1", "http://localhost"))
        self._mock.start()
        self.fake.install(self._mock)

    def helpdesk(self, session: requests.Session) -> Helpdesk | None:
        return Freshdesk(URL, KEY, webhook_secret=SECRET, session=session)

    def tickets(self, requester: str) -> list[SeenTicket]:
        wanted = requester.strip().lower()
        return [self._seen(ticket) for ticket in sorted(self.fake.tickets.values(), key=lambda t: t["id"])
                if self.fake.contact_email(ticket["requester_id"]) == wanted]

    def solve(self, remote_id: str) -> None:
        self.fake.solve(int(remote_id))

    def answer(self, remote_id: str, text: str, *, public: bool = True) -> WebhookCall | None:
        # The guide's rule fires on any note an agent adds; the adapter itself drops private ones.
        self.fake.agent_note(int(remote_id), self.agent, f"<div>{text}</div>", private=not public)
        return self.fake.webhook_call(int(remote_id), SECRET)

    def close(self) -> None:
        self._mock.stop()
        self._mock.reset()
        assert self.fake.mailed == [], "Freshdesk itself mailed a customer"

    def _seen(self, ticket: dict) -> SeenTicket:
        first = SeenMessage(public=True, body=ticket["description_text"],
                            author=self.fake.contact_email(ticket["requester_id"]),
                            files={a["name"]: self.fake.attachment_bytes(a) for a in ticket["attachments"]})
        notes = [SeenMessage(public=not note["private"], body=note["body_text"],
                             author=self.fake.contact_email(note["user_id"]).lower(),
                             files={a["name"]: self.fake.attachment_bytes(a) for a in note["attachments"]})
                 for note in self.fake.ticket_conversations(ticket["id"])]
        group = self.fake.groups.get(ticket["group_id"] or 0, {}).get("name", "")
        return SeenTicket(remote_id=str(ticket["id"]), subject=ticket["subject"],
                          requester=self.fake.contact_email(ticket["requester_id"]), queue=group,
                          status=STATUS.get(ticket["status"], str(ticket["status"])), messages=[first, *notes])


def make_destination(tmp_path: Path) -> Destination:
    return FreshdeskDestination()
