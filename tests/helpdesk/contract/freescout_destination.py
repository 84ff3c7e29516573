"""FreeScout as a contract destination: the stateful fake (tests/helpdesk/fakes/freescout_api.py) behind
`responses`, read back from what it holds, its agents answering with the module's signed webhook call."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests
import responses

from connector.helpdesk.freescout import FreeScout
from connector.mail.html_text import html_to_text
from tests.helpdesk.contract.destination import SeenMessage, SeenTicket
from tests.helpdesk.fakes.freescout_api import API_KEY, SECRET, URL, FreeScoutFake

# The suite runs its delivery rounds as if hours had passed; FreeScout's clock must be at least as far
# along for an agent's answer to be written after the ticket was linked, as it is in life.
AHEAD = timedelta(days=1)
EVENTS = {True: "convo.agent.reply.created", False: "convo.note.created"}


class FreeScoutDestination:
    name, queue, loses_answers = "freescout", "Support", True
    credits_customer = True             # customer threads are created by the customer

    def __init__(self):
        self.fake = FreeScoutFake(URL, API_KEY, SECRET, clock=lambda: datetime.now(timezone.utc) + AHEAD)
        # The suite posts our webhook secret as HELPDESK_WEBHOOK_SECRET; FreeScout shows its own Secret Key.
        self.settings = {"freescout_url": URL, "freescout_api_key": API_KEY}
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False,
                                            passthru_prefixes=("http://127.0.0.1", "http://localhost"))
        self._mock.start()
        self.fake.install(self._mock)
        self._secret = SECRET

    def bind(self, runtime) -> None:
        self._secret = runtime.settings.helpdesk_webhook_secret or SECRET
        self.fake.secret = self._secret      # the operator copied FreeScout's Secret Key into the setting

    def helpdesk(self, session: requests.Session) -> FreeScout:
        return FreeScout(URL, API_KEY, webhook_secret=self._secret, session=session)

    def tickets(self, requester: str) -> list[SeenTicket]:
        return [SeenTicket(str(c["id"]), c["subject"], requester, self.fake.mailboxes[c["mailboxId"]]["name"],
                           c["status"], self._messages(c)) for c in self.fake.conversations_of(requester)]

    def _messages(self, conversation: dict) -> list[SeenMessage]:
        listed = self.fake.conversation_json(conversation, True)["_embedded"]["threads"]
        seen = []
        for thread in sorted(listed, key=lambda t: (t["createdAt"], t["id"])):
            if thread["type"] not in ("customer", "message", "note"):
                continue
            files = {a["fileName"]: self.fake.file_bytes(a) for a in thread["_embedded"]["attachments"]}
            seen.append(SeenMessage(thread["type"] != "note", html_to_text(thread["body"]),
                                    str(thread["createdBy"]["email"]).lower(), files))
        return seen

    def solve(self, remote_id: str) -> None:
        self.fake.set_status(int(remote_id), "closed")

    def answer(self, remote_id: str, text: str, *, public: bool = True):
        number = int(remote_id)
        if public:
            self.fake.agent_reply(number, f"<div>{text}</div>")
        else:
            self.fake.agent_note(number, f"<div>{text}</div>")
        return self.fake.webhook_call(number, EVENTS[public])

    def close(self) -> None:
        self._mock.stop()
        self._mock.reset()


def make_destination(tmp_path) -> FreeScoutDestination:
    return FreeScoutDestination()
