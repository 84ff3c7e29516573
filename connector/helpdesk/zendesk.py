"""Zendesk as a helpdesk destination, through its Support API (docs/helpdesks.md, section Zendesk).

A ticket carries our key as its external_id (and the create sends it as the Idempotency-Key), so
`find_ticket` is GET /api/v2/tickets?external_id=KEY. Every comment's audit carries its key in the
audit's custom metadata, so `find_message` reads the ticket's audits. Customer mail is a public
comment credited to the customer (author_id); auto-replies and bounces are internal notes of
the API user that open with whose mail they were.
Agents' answers arrive through a trigger's signed webhook (zendesk_events) and are read back from
the ticket's comments (zendesk_replies). Zendesk itself must not mail customers: see the guide.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Sequence

import requests

from connector.helpdesk.port import (AgentReply, CheckResult, Delivered, HelpdeskMessage, HelpdeskRefused,
                                     NewHelpdeskTicket, WebhookCall)
from connector.helpdesk.zendesk_api import IdempotencyMismatch, ZendeskApi
from connector.helpdesk.zendesk_check import check_zendesk
from connector.helpdesk.zendesk_content import KEY_METADATA, TAG, comment, comment_event_id, upload_all
from connector.helpdesk.zendesk_directory import Groups, People
from connector.helpdesk.zendesk_events import tickets_in
from connector.helpdesk.zendesk_replies import keyed_audits, replies_since

ACTIVE = ("new", "open")


class Zendesk:
    name = "zendesk"
    signs_webhooks = True           # its calls carry an HMAC of the body: POST /helpdesk/events

    def __init__(self, url: str, email: str, api_token: str, *, webhook_secret: str,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time):
        self._api = ZendeskApi(url, email, api_token, session=session)
        self._secret, self._clock = webhook_secret, clock
        self._people, self._groups = People(self._api), Groups(self._api)

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        group = self._groups.require(ticket.queue) if ticket.queue.strip() else None
        requester = self._people.user_id(ticket.requester)
        author = self._author(ticket.first)
        tokens, skipped = upload_all(self._api, ticket.first.attachments)
        body = {"subject": ticket.subject, "requester_id": requester, "external_id": ticket.key, "tags": [TAG],
                "comment": comment(ticket.first, author, tokens, skipped),
                "metadata": {KEY_METADATA: ticket.first.key}}
        if author is not None:
            body["submitter_id"] = author     # the submitter is the first comment's author
        if group is not None:
            body["group_id"] = group.id
        return self._create(body, ticket.key, "the new ticket")

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        number = _number(remote_ticket_id)
        author = self._author(message)
        tokens, skipped = upload_all(self._api, message.attachments)
        body = {"comment": comment(message, author, tokens, skipped), "metadata": {KEY_METADATA: message.key}}
        try:
            answer = self._update(number, body)
        except HelpdeskRefused:
            if self._status(number) != "closed":
                raise
            return self._follow_up(number, message, body)
        return Delivered(str(number), comment_event_id(answer), self.ticket_url(number))

    def _follow_up(self, closed: int, message: HelpdeskMessage, body: dict) -> Delivered:
        """Zendesk never updates a closed ticket: the customer's mail opens a follow-up ticket linked to
        it, as Zendesk's own email channel does, keyed by the message so a retry finds it."""
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#creating-follow-up-tickets
        was = (self._api.get(f"/api/v2/tickets/{closed}") or {}).get("ticket") or {}
        ticket = {**body, "via_followup_source_id": closed, "external_id": message.key, "tags": [TAG],
                  "subject": was.get("subject") or "", "requester_id": was.get("requester_id")}
        if body["comment"].get("author_id") is not None:
            ticket["submitter_id"] = body["comment"]["author_id"]   # else the API user would be its author
        if was.get("group_id"):
            ticket["group_id"] = was["group_id"]
        return self._create(ticket, message.key, "the follow-up ticket")

    def _create(self, ticket: dict, key: str, what: str) -> Delivered:
        """POST the ticket under our key; Zendesk makes the submitter the first comment's author."""
        try:
            # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket
            answer = self._api.post("/api/v2/tickets", {"ticket": ticket}, headers={"Idempotency-Key": key})
        except IdempotencyMismatch:
            # An earlier attempt left its answer under the key (new upload tokens make this body differ).
            found = self.find_ticket(key)
            if found is not None:
                return found
            answer = self._api.post("/api/v2/tickets", {"ticket": ticket})   # no ticket carries the key: none was made
        number = str(((answer or {}).get("ticket") or {}).get("id") or "")
        if not number:
            raise HelpdeskRefused(f"Zendesk answered {what} without its id")
        return Delivered(number, comment_event_id(answer), self.ticket_url(number))

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        number = _number(remote_ticket_id)
        status = self._status(number)
        if status in ACTIVE:
            return
        if status == "closed":     # final in Zendesk; the customer's mail before this opened a follow-up ticket
            return
        self._update(number, {"status": "open", "metadata": {KEY_METADATA: key}})

    def find_ticket(self, key: str) -> Delivered | None:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets (external_id)
        found = self._api.get("/api/v2/tickets", {"external_id": key}) or {}
        numbers = sorted(int(t["id"]) for t in found.get("tickets") or [] if t.get("external_id") == key)
        return Delivered(str(numbers[0]), url=self.ticket_url(numbers[0])) if numbers else None

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        number = _number(remote_ticket_id)
        for audit in keyed_audits(self._api, number):
            if audit["key"] == key:
                return Delivered(str(number), audit["comment_id"], self.ticket_url(number))
        # A follow-up ticket this message opened, its own ticket being closed, carries its key.
        follow_up = self.find_ticket(key)
        return follow_up if follow_up is not None and follow_up.remote_ticket_id != str(number) else None

    def ticket_url(self, remote_ticket_id: str | int) -> str | None:
        return f"{self._api.base}/agent/tickets/{_number(remote_ticket_id)}"

    def check(self, queues: Sequence[str]) -> CheckResult:
        return check_zendesk(self._api, self._groups, queues)

    def tickets_in_event(self, call: WebhookCall) -> list[str]:
        return tickets_in(call, self._secret)

    def ticket_replies(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        return replies_since(self._api, _number(remote_ticket_id), since)

    def close(self) -> None:
        self._api.close()

    def _author(self, message: HelpdeskMessage) -> int | None:
        """The customer for their correspondence; a note is the API user's, saying whose mail it was
        (an agent's role may add internal notes on any ticket it sees)."""
        return self._people.user_id(message.author) if message.public else None

    def _status(self, number: int) -> str:
        return str(((self._api.get(f"/api/v2/tickets/{number}") or {}).get("ticket") or {}).get("status") or "")

    def _update(self, number: int, ticket: dict) -> dict:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
        return self._api.put(f"/api/v2/tickets/{number}", {"ticket": ticket}) or {}


def _number(remote_ticket_id: str | int) -> int:
    text = str(remote_ticket_id).strip()
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskRefused(f"{text!r} is not a Zendesk ticket id")
    return int(text)
