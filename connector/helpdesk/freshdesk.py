"""Freshdesk as a helpdesk destination, through its API v2 (docs: the helpdesk guide's Freshdesk section).

A ticket is created with the customer as requester, our key as a tag and, with the first
message's key, in a footer of its description. A customer's follow-up is a public note marked
`incoming` and credited to their contact (user_id); auto-replies and bounces are private notes.
Nothing here uses POST /tickets/[id]/reply: that is an agent's reply, and Freshdesk mails it.
Freshdesk has no idempotency key, so `find_ticket` / `find_message` look for ours (freshdesk_lookup).
Agents answer with public notes; an automation rule calls /helpdesk/events/SECRET (freshdesk_events).
"""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Callable, Sequence

import requests

from connector.helpdesk.freshdesk_api import FreshdeskApi
from connector.helpdesk.freshdesk_check import check_freshdesk
from connector.helpdesk.freshdesk_content import checked_key, file_parts, message_html, ticket_number
from connector.helpdesk.freshdesk_directory import Directory
from connector.helpdesk.freshdesk_events import Replies, tickets_in_event
from connector.helpdesk.freshdesk_lookup import find_message, find_ticket
from connector.helpdesk.port import (AgentReply, CheckResult, Delivered, HelpdeskMessage, HelpdeskRefused,
                                     HelpdeskUnavailable, NewHelpdeskTicket, WebhookCall)

# Ticket Properties: status Open 2, priority Low 1, source Email 1 (the mail came by email).
OPEN, LOW, EMAIL = 2, 1, 1


class Freshdesk:
    name = "freshdesk"
    signs_webhooks = False          # it cannot sign: its webhook calls /helpdesk/events/SECRET

    def __init__(self, url: str, api_key: str, *, webhook_secret: str, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time):
        self._api = FreshdeskApi(url, api_key, session=session)
        self._secret = webhook_secret
        self._directory = Directory(self._api, clock)

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        key = checked_key(ticket.key)
        group = self._directory.group_id(ticket.queue)
        first = ticket.first if ticket.first.cc or not ticket.cc else replace(ticket.first, cc=ticket.cc)
        files, skipped = file_parts(first.attachments)
        # No cc_emails: Freshdesk would send its CC notification; the Cc line is in the description.
        fields = {"email": ticket.requester.email, "subject": ticket.subject.strip() or "(no subject)",
                  "description": message_html(first, skipped, (key, first.key)),
                  "status": OPEN, "priority": LOW, "source": EMAIL, "tags": [key]}
        if ticket.requester.name.strip():
            fields["name"] = ticket.requester.name.strip()
        if group is not None:
            fields["group_id"] = group
        number = str(_made_id(self._api.send("POST", "/tickets", fields, files), "POST /tickets"))
        return Delivered(remote_ticket_id=number, url=self.ticket_url(number))

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        number = ticket_number(remote_ticket_id)
        files, skipped = file_parts(message.attachments)
        fields: dict = {"body": message_html(message, skipped, (message.key,)), "private": not message.public}
        if message.public:
            # "incoming: appear as being created from outside"; user_id credits it to the customer.
            fields["incoming"] = True
            contact = self._directory.contact_id(message.author)
            if contact is not None:
                fields["user_id"] = contact
        note = self._api.send("POST", f"/tickets/{number}/notes", fields, files)
        return Delivered(str(number), str(_made_id(note, f"POST /tickets/{number}/notes")), self.ticket_url(number))

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        number = ticket_number(remote_ticket_id)
        if (self._api.get(f"/tickets/{number}") or {}).get("status") == OPEN:
            return
        updated = self._api.put(f"/tickets/{number}", {"status": OPEN}) or {}
        if updated.get("status") != OPEN:
            raise HelpdeskRefused(f"Freshdesk did not reopen ticket #{number} (its status is "
                                  f"{updated.get('status')!r})")

    def find_ticket(self, key: str) -> Delivered | None:
        found = find_ticket(self._api, key)
        return None if found is None else Delivered(str(found), url=self.ticket_url(found))

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        number = ticket_number(remote_ticket_id)
        found, item = find_message(self._api, number, key)
        return Delivered(str(number), item, self.ticket_url(number)) if found else None

    def ticket_url(self, remote_ticket_id: str | int) -> str | None:
        return f"{self._api.site}/a/tickets/{ticket_number(remote_ticket_id)}"

    def check(self, queues: Sequence[str]) -> CheckResult:
        return check_freshdesk(self._api, self._directory, self._secret, queues)

    def tickets_in_event(self, call: WebhookCall) -> list[str]:
        return tickets_in_event(call, self._secret)

    def ticket_replies(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        return Replies(self._api, self._directory).since(remote_ticket_id, since)

    def close(self) -> None:
        self._api.close()


def _made_id(answer: object, request: str) -> int:
    """The id Freshdesk gave what it made. Without one it was made, but we cannot tell what: "not now",
    so the retry's lookup by our key finds it instead of making it again."""
    made = answer.get("id") if isinstance(answer, dict) else None
    text = str(made) if isinstance(made, (int, str)) and not isinstance(made, bool) else ""
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskUnavailable(f"Freshdesk answered {request} without the id of what it made")
    return int(text)
