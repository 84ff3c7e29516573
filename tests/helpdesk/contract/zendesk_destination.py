"""The Zendesk destination for the shared contract suite: the real adapter over the stateful Zendesk fake."""
from __future__ import annotations

from pathlib import Path

import requests
import responses

from connector.helpdesk.port import Helpdesk, WebhookCall
from connector.helpdesk.zendesk import Zendesk
from connector.mail.html_text import html_to_text
from tests.helpdesk.contract.destination import Destination, SeenMessage, SeenTicket
from tests.helpdesk.fakes.zendesk_api import EMAIL, TOKEN, URL, ZendeskFake

SECRET = "contract-webhook-secret"      # the suite's HELPDESK_WEBHOOK_SECRET: the webhook's signing secret


class ZendeskDestination:
    name = "zendesk"
    queue = "Support"                   # a group name; the adapter resolves it through the groups API
    settings = {"zendesk_url": URL, "zendesk_email": EMAIL, "zendesk_api_token": TOKEN,
                "helpdesk_webhook_secret": SECRET}
    loses_answers = True
    credits_customer = True             # customer mail is a comment whose author_id is the customer

    def __init__(self) -> None:
        self.fake = ZendeskFake()
        self.agent = self.fake.add_user("Sam Agent", "sam@support.example", "agent")
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False,
                                            passthru_prefixes=("http://127.0.0.1", "http://localhost"))
        self._mock.start()
        self.fake.install(self._mock)

    def helpdesk(self, session: requests.Session) -> Helpdesk | None:
        return Zendesk(URL, EMAIL, TOKEN, webhook_secret=SECRET, session=session)

    def tickets(self, requester: str) -> list[SeenTicket]:
        wanted = requester.strip().lower()
        return [self._seen(ticket) for _, ticket in sorted(self.fake.tickets.items())
                if self.fake.users[ticket["requester_id"]]["email"].lower() == wanted]

    def solve(self, remote_id: str) -> None:
        self.fake.solve(int(remote_id))

    def answer(self, remote_id: str, text: str, *, public: bool = True) -> WebhookCall | None:
        # The guide's trigger fires on public agent comments; a call for a note too tests that the
        # adapter itself leaves notes out.
        self.fake.agent_comment(int(remote_id), self.agent, text, public=public)
        return self.fake.webhook_call(int(remote_id), SECRET)

    def close(self) -> None:
        self._mock.stop()
        self._mock.reset()

    def _seen(self, ticket: dict) -> SeenTicket:
        group = self.fake.groups.get(ticket["group_id"] or 0, {})
        return SeenTicket(remote_id=str(ticket["id"]), subject=ticket["subject"],
                          requester=self.fake.users[ticket["requester_id"]]["email"].lower(),
                          queue=group.get("name", ""), status=ticket["status"],
                          messages=[self._message(c) for c in self.fake.ticket_comments(ticket["id"])])

    def _message(self, comment: dict) -> SeenMessage:
        body = html_to_text(comment["html_body"]) if comment.get("html_body") else comment["body"]
        files = {a["file_name"]: self.fake.files[a["id"]] for a in comment["attachments"]}
        return SeenMessage(public=comment["public"], body=body,
                           author=self.fake.users[comment["author_id"]]["email"].lower(), files=files)


def make_destination(tmp_path: Path) -> Destination:
    return ZendeskDestination()
