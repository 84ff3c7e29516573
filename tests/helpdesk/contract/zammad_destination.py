"""The Zammad destination for the shared contract suite: the real adapter over the stateful Zammad fake."""
from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

import requests
import responses

from connector.helpdesk.port import Helpdesk, WebhookCall
from connector.helpdesk.zammad import Zammad
from connector.mail.html_text import html_to_text
from tests.helpdesk.contract.destination import Destination, SeenMessage, SeenTicket
from tests.helpdesk.fakes.zammad_api import SECRET, TOKEN, URL, FakeZammad


class ZammadDestination:
    name = "zammad"
    queue = "Support"
    settings = {"zammad_url": URL, "zammad_token": TOKEN, "helpdesk_webhook_secret": SECRET}
    loses_answers = True
    credits_customer = True     # customer mail is an article whose origin_by_id is the customer

    def __init__(self) -> None:
        self.fake = FakeZammad()
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False,
                                            passthru_prefixes=("http://127.0.0.1", "http://localhost"))
        self._mock.start()
        self.fake.register(self._mock)

    def helpdesk(self, session: requests.Session) -> Helpdesk | None:
        return Zammad(URL, TOKEN, webhook_secret=SECRET, session=session)

    def tickets(self, requester: str) -> list[SeenTicket]:
        wanted = requester.strip().lower()
        return [self._seen(ticket) for ticket in sorted(self.fake.tickets.values(), key=lambda t: t["id"])
                if self.fake.users[ticket["customer_id"]]["email"] == wanted]

    def solve(self, remote_id: str) -> None:
        self.fake.solve(int(remote_id))

    def answer(self, remote_id: str, text: str, *, public: bool = True) -> WebhookCall | None:
        # The guide's trigger fires on any agent article; the adapter itself drops internal notes.
        article = self.fake.agent_answer(int(remote_id), text, public=public)
        return self.fake.webhook_call(int(remote_id), article)

    def close(self) -> None:
        self._mock.stop()
        self._mock.reset()

    def _seen(self, ticket: dict) -> SeenTicket:
        messages = [self._message(a) for a in sorted(self.fake.ticket_articles(ticket["id"]), key=lambda a: a["id"])
                    if a["sender"] != "System"]
        return SeenTicket(remote_id=str(ticket["id"]), subject=ticket["title"],
                          requester=self.fake.users[ticket["customer_id"]]["email"],
                          queue=self.fake.groups[ticket["group_id"]], status=self.fake.state(ticket["id"]),
                          messages=messages)

    def _message(self, article: dict) -> SeenMessage:
        # Who Zammad shows: the user it is credited to, else the From address, else whoever wrote it.
        origin = self.fake.users.get(article["origin_by_id"] or 0, {}).get("email")
        written = parseaddr(article["from"] or "")[1].lower()
        author = origin or (written if "@" in written else self.fake.users[article["created_by_id"]]["email"])
        body = article["body"]
        if str(article["content_type"]).startswith("text/html"):
            body = html_to_text(body)
        files = {self.fake.files[f]["filename"]: self.fake.download(f) for f in article["file_ids"]}
        return SeenMessage(public=not article["internal"], body=body, author=author, files=files)


def make_destination(tmp_path: Path) -> Destination:
    return ZammadDestination()
