"""FreeScout (with its API & Webhooks module) as a helpdesk destination (HELPDESK=freescout).

A ticket is a conversation in a mailbox (HELPDESK_QUEUES names the mailbox); customer mail is a
"customer" thread credited to its author, auto-replies and bounces are notes. Everything is
posted `imported: true`, which per https://api-docs.freescout.net/#create-conversation makes
FreeScout generate no outgoing email or notification; yet a mailbox whose Auto Reply is on still
sends it for a new imported conversation (core's SendAutoReply skips no imported one), so the
guide has it turned off. FreeScout keeps no key of ours, so each thread ends in a key marker
that `find_ticket` / `find_message` look for (freescout_lookup). Agents' answers: FreeScout's
signed webhook names the conversation, and its threads are read back (freescout_events,
freescout_replies). FreeScout itself mails the customer when an agent answers in its UI, and
cannot be told not to: see the guide's section on that.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Sequence

import requests

from connector.helpdesk.freescout_api import FreeScoutApi, iso
from connector.helpdesk.freescout_check import check_freescout
from connector.helpdesk.freescout_content import attachments_of, customer_of, emails, marker, thread_text
from connector.helpdesk.freescout_directory import Directory
from connector.helpdesk.freescout_events import tickets_in_event
from connector.helpdesk.freescout_lookup import find_conversation, find_thread
from connector.helpdesk.freescout_replies import agent_replies
from connector.helpdesk.port import (AgentReply, CheckResult, Delivered, HelpdeskMessage, HelpdeskRefused,
                                     NewHelpdeskTicket, WebhookCall)


class FreeScout:
    name = "freescout"
    signs_webhooks = True           # its calls carry an HMAC of the body: POST /helpdesk/events

    def __init__(self, url: str, api_key: str, *, webhook_secret: str, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, user: str | int | None = None):
        self._api = FreeScoutApi(url, api_key, secrets=(webhook_secret,), session=session)
        # `clock` is taken for the composition root's uniform signature: FreeScout signs no timestamp to check.
        self._secret, self._clock = webhook_secret, clock
        self._directory = Directory(self._api, user)
        # Our ticket key -> its requester, so a lost answer is looked for among that customer's conversations.
        self._requesters: dict[str, str] = {}

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        mailbox = self._directory.mailbox(ticket.queue)
        if mailbox is None:
            raise HelpdeskRefused(f"FreeScout has no mailbox {ticket.queue!r} (HELPDESK_QUEUES names a mailbox by id, "
                                  "name or address; `helpdesk check` lists them)")
        self._requesters[ticket.key] = ticket.requester.email
        first = ticket.first
        thread = self._thread(first, [marker("ticket", ticket.key), marker("message", first.key)], cc=ticket.cc)
        number = self._api.create("/api/conversations", {
            "type": "email", "mailboxId": int(mailbox["id"]), "subject": ticket.subject.strip() or "(no subject)",
            "customer": customer_of(ticket.requester), "threads": [thread], "imported": True, "status": "active",
            "createdAt": iso(first.created_at)})
        return Delivered(remote_ticket_id=number, url=self.ticket_url(number))

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        number = _number(remote_ticket_id)
        customer = self._api.conversation(number).get("customer") or {}
        thread = self._api.create(f"/api/conversations/{number}/threads",
                                  self._thread(message, [marker("message", message.key)]))
        if message.public and customer.get("id") and message.author.email != str(customer.get("email", "")).lower():
            # A customer thread makes its author the conversation's customer; the requester stays who it was,
            # as FreeScout's own Create Conversation restores it.
            self._api.put(f"/api/conversations/{number}", {"customerId": int(customer["id"])})
        return Delivered(str(number), thread, self.ticket_url(number))

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        number = _number(remote_ticket_id)
        if self._api.conversation(number).get("status") == "active":
            return          # the customer's thread reactivated it already
        self._api.put(f"/api/conversations/{number}", {"byUser": self._directory.user_id(), "status": "active"})

    def find_ticket(self, key: str) -> Delivered | None:
        found = find_conversation(self._api, key, self._requesters.get(key))
        return None if found is None else Delivered(str(found), url=self.ticket_url(found))

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        number = _number(remote_ticket_id)
        found = find_thread(self._api.conversation(number), key)
        return None if found is None else Delivered(str(number), str(found), self.ticket_url(number))

    def ticket_url(self, remote_ticket_id: str | int) -> str | None:
        return f"{self._api.base}/conversation/{_number(remote_ticket_id)}"

    def check(self, queues: Sequence[str]) -> CheckResult:
        return check_freescout(self._api, self._directory, self._secret, queues)

    def tickets_in_event(self, call: WebhookCall) -> list[str]:
        return tickets_in_event(call, self._secret)

    def ticket_replies(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        return agent_replies(self._api, self._api.conversation(_number(remote_ticket_id)), since)

    def close(self) -> None:
        self._api.close()

    def _thread(self, message: HelpdeskMessage, markers: list[str], cc: tuple = ()) -> dict:
        files, skipped = attachments_of(message.attachments)
        thread = {"text": thread_text(message, markers, skipped), "imported": True,
                  "createdAt": iso(message.created_at), "attachments": files}
        if not message.public:
            return {**thread, "type": "note", "user": self._directory.user_id()}
        return {**thread, "type": "customer", "customer": customer_of(message.author),
                "cc": emails(tuple(cc) + message.cc, besides=message.author.email)}


def _number(remote_ticket_id: str | int) -> int:
    text = str(remote_ticket_id).strip()
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskRefused(f"{text!r} is not a FreeScout conversation id")
    return int(text)
