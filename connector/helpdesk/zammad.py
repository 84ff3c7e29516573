"""Zammad as a helpdesk destination, through its REST API (docs.zammad.org/en/latest/api/intro.html).

Tickets are opened with POST /api/v1/tickets (group = the HELPDESK_QUEUES value, customer found or
created by email, first article inline); later mail is POST /api/v1/ticket_articles. Customer mail
is a public email article from the Customer, auto-replies and bounces are internal notes. Each
article carries our key in `message_id` and the first one the ticket's key in `references`
(zammad_articles), so `find_message` reads the ticket's articles and `find_ticket` asks the search
index, then checks the hit exactly. Agents' answers come back through a trigger's signed webhook
(zammad_events) and are read from the ticket's articles (zammad_replies).
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable, Sequence

import requests

from connector.helpdesk.json_api import JsonApi
from connector.helpdesk.port import (AgentReply, CheckResult, Delivered, HelpdeskMessage, HelpdeskRefused,
                                     NewHelpdeskTicket, WebhookCall)
from connector.helpdesk.zammad_articles import MARKER_DOMAIN, article_fields, is_ours, keys_in, marker
from connector.helpdesk.zammad_check import check_zammad
from connector.helpdesk.zammad_events import tickets_in_event
from connector.helpdesk.zammad_replies import Replies
from connector.helpdesk.zammad_users import customer_id

ACTIVE = ("new", "open")
SEARCH_LIMIT = 10


class Zammad:
    name = "zammad"
    signs_webhooks = True           # its calls carry an HMAC of the body: POST /helpdesk/events

    def __init__(self, url: str, token: str, *, webhook_secret: str, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time):
        base = url.strip().rstrip("/")
        base = base[:-len("/api/v1")] if base.endswith("/api/v1") else base     # a common paste: the API's URL
        self._api = JsonApi("Zammad", base, setting="ZAMMAD_URL", headers={"Authorization": f"Token token={token}"},
                            secrets=(token, webhook_secret), identity="ZAMMAD_TOKEN's user", message_of=_said,
                            session=session)
        self._secret = webhook_secret
        self._clock = clock         # Zammad signs no timestamp: kept for the adapters' common shape
        self._own_id: int | None = None

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        customer = customer_id(self._api, ticket.requester)
        credited = customer if isinstance(customer, int) else None
        article = {**article_fields(ticket.first, thread_key=ticket.key, origin_by_id=credited),
                   "subject": ticket.subject}
        created = self._api.post("/api/v1/tickets", {"title": ticket.subject.strip() or "(no subject)",
                                                     "group": ticket.queue, "customer_id": customer,
                                                     "article": article})
        number = str(created["id"])
        first = created.get("article_ids") or []
        return Delivered(number, str(min(int(i) for i in first)) if first else None, self.ticket_url(number))

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        number = _number(remote_ticket_id)
        credited = None
        if message.public:
            found = customer_id(self._api, message.author)
            credited = found if isinstance(found, int) else None
        fields = article_fields(message, origin_by_id=credited)
        made = self._api.post("/api/v1/ticket_articles", {"ticket_id": number, **fields})
        return Delivered(str(number), str(made["id"]), self.ticket_url(number))

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        number = _number(remote_ticket_id)
        state = self._state(number)
        if state in ACTIVE:
            return
        if state == "merged":
            raise HelpdeskRefused(f"Zammad ticket {number} was merged into another ticket: link our ticket to "
                                  "the ticket it was merged into")
        self._api.put(f"/api/v1/tickets/{number}", {"state": "open"})
        if self._state(number) != "open":
            raise HelpdeskRefused(f"Zammad did not reopen ticket {number} (a trigger or core workflow may keep "
                                  "it closed)")

    def find_ticket(self, key: str) -> Delivered | None:
        query = f'article.references:"{key}@{MARKER_DOMAIN}"'
        found = self._api.get("/api/v1/tickets/search", {"query": query, "limit": SEARCH_LIMIT}) or {}
        for number in sorted(int(i) for i in found.get("tickets") or []):
            # The index finds words, not strings: only our own article with this exact marker is proof.
            if any(is_ours(a) and key in keys_in(a.get("references")) for a in self._articles(number)):
                return Delivered(str(number), url=self.ticket_url(number))
        return None

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        number = _number(remote_ticket_id)
        wanted = marker(key)
        for article in self._articles(number):
            if str(article.get("message_id") or "").strip() == wanted:
                return Delivered(str(number), str(article["id"]), self.ticket_url(number))
        return None

    def ticket_url(self, remote_ticket_id: str | int) -> str | None:
        return f"{self._api.base}/#ticket/zoom/{_number(remote_ticket_id)}"

    def check(self, queues: Sequence[str]) -> CheckResult:
        return check_zammad(self._api, queues)

    def tickets_in_event(self, call: WebhookCall) -> list[str]:
        return tickets_in_event(call, self._secret)

    def ticket_replies(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        return Replies(self._api, self._own_user_id).of(_number(remote_ticket_id), since)

    def close(self) -> None:
        self._api.close()

    def _articles(self, number: int) -> list[dict[str, Any]]:
        found = self._api.get(f"/api/v1/ticket_articles/by_ticket/{number}")
        return found if isinstance(found, list) else []

    def _state(self, number: int) -> str:
        return str((self._api.get(f"/api/v1/tickets/{number}", {"expand": "true"}) or {}).get("state") or "")

    def _own_user_id(self) -> int:
        """ZAMMAD_TOKEN's user: what it wrote is the connector's, never an agent's answer."""
        if self._own_id is None:
            self._own_id = int(self._api.get("/api/v1/users/me")["id"])
        return self._own_id


def _said(body: Any) -> str | None:
    """Zammad's error body: {"error": ..., "error_human": ...} (application_controller/handles_errors.rb)."""
    if isinstance(body, dict):
        said = body.get("error_human") or body.get("error")
        return str(said) if said else None
    return None


def _number(remote_ticket_id: str | int) -> int:
    text = str(remote_ticket_id).strip()
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskRefused(f"{text!r} is not a Zammad ticket id")
    return int(text)
