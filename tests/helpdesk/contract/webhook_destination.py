"""The signed webhook destination as a contract destination: a careful receiver (tests/helpdesk/test_webhook.py)
keeps tickets from the events it accepted; its agents answer through our admin API."""
from __future__ import annotations

import base64
import uuid

import requests

from connector.helpdesk.webhook import SignedWebhook
from tests.helpdesk.contract.destination import ApiAnswer, SeenMessage, SeenTicket
from tests.helpdesk.test_webhook import SECRET, Receiver


class WebhookDestination:
    name, queue, loses_answers, credits_customer = "webhook", "Support", True, True

    def __init__(self):
        self.receiver = Receiver()
        self.settings = {"webhook_url": self.receiver.url, "webhook_secret": SECRET}
        self.status: dict[str, str] = {}

    def helpdesk(self, session: requests.Session) -> SignedWebhook:
        return SignedWebhook(self.receiver.url, SECRET, inline_max_bytes=1 << 20, link_for=None, session=session)

    def tickets(self, requester: str) -> list[SeenTicket]:
        tickets: dict[str, SeenTicket] = {}
        for event in self.receiver.events:
            kind, message = event["type"], event.get("message")
            if kind == "ticket.created" and event["ticket"]["requester"]["email"] == requester:
                remote = self._remote_id(event)
                tickets[remote] = SeenTicket(remote, event["ticket"]["subject"], requester, event["ticket"]["queue"],
                                             self.status.get(remote, "open"), [_message(message)])
            elif kind in ("comment.added", "note.added") and event["ticket"]["remote_id"] in tickets:
                tickets[event["ticket"]["remote_id"]].messages.append(_message(message))
            elif kind == "ticket.reopened" and event["ticket"]["remote_id"] in tickets:
                self.status[event["ticket"]["remote_id"]] = "open"
                tickets[event["ticket"]["remote_id"]].status = "open"
        return list(tickets.values())

    def _remote_id(self, event: dict) -> str:
        import json
        return json.loads(self.receiver.answers[event["id"]])["ticket_id"]

    def our_ticket(self, remote_id: str) -> int:
        for event in self.receiver.events:
            if event["type"] == "ticket.created" and self._remote_id(event) == remote_id:
                return int(event["ticket"]["id"])
        raise LookupError(remote_id)

    def solve(self, remote_id: str) -> None:
        self.status[remote_id] = "solved"

    def answer(self, remote_id: str, text: str, *, public: bool = True) -> ApiAnswer:
        return ApiAnswer(self.our_ticket(remote_id), text, not public, f"receiver-{uuid.uuid4().hex}")

    def close(self) -> None:
        self.receiver.close()


def _message(message: dict) -> SeenMessage:
    files = {f["filename"]: base64.b64decode(f["content_base64"]) for f in message["attachments"]
             if f.get("content_base64") is not None}
    return SeenMessage(message["public"], message["body_text"], message["author"]["email"], files)


def make_destination(tmp_path) -> WebhookDestination:
    return WebhookDestination()
