"""django-helpdesk 2.6 as a helpdesk destination, through its REST API (/api/tickets/, /api/followups/).

Its API keeps no key of ours and has no search, so the key is a marker line at the end of the
ticket's description and of each follow-up's comment (django_helpdesk_content.py): `find_ticket`
looks through the newest tickets for it, `find_message` through one ticket's follow-ups. Files go
one by one to /api/followups-attachments/ after the text, and the marker counts them, so a write
cut short is found unfinished and completed rather than made twice. Every follow-up is credited
to the API user; customers' mail is public, auto-replies and bounces are private. django-helpdesk
itself must not mail customers: see docs/helpdesks.md.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

import requests

from connector.helpdesk import django_helpdesk_content as content
from connector.helpdesk.django_helpdesk_api import DjangoHelpdeskApi
from connector.helpdesk.django_helpdesk_replies import ticket_replies, tickets_in_event
from connector.helpdesk.port import (AgentReply, CheckResult, Delivered, HelpdeskError, HelpdeskMessage,
                                     HelpdeskRefused, NewHelpdeskTicket, WebhookCall)

ACTIVE = (1, 2)                     # Open, Reopened (helpdesk/settings.py: DEFAULT_TICKET_OPEN_STATUSES)
REOPENED = 2
PRIORITY = 3                        # Normal


@dataclass(frozen=True)
class _Unfinished:
    """A write found by its key whose uploads were cut short: `present` files are there."""
    ticket: int
    followup: int
    present: int


class DjangoHelpdesk:
    name = "django_helpdesk"
    signs_webhooks = False          # its webhooks are unsigned: they call /helpdesk/events/SECRET

    def __init__(self, url: str, *, user: str = "", password: str = "", token: str = "", webhook_secret: str,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time):
        self._api = DjangoHelpdeskApi(url, user=user, password=password, token=token, session=session)
        self._secret = webhook_secret
        self._clock = clock         # django-helpdesk signs no timestamp: kept for the common constructor
        self._unfinished: dict[str, _Unfinished] = {}

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        queue = _queue(ticket.queue)
        files, skipped = content.uploads(ticket.first.attachments)
        unfinished = self._unfinished.pop(ticket.key, None)
        if unfinished is None:
            created = self._api.post("/api/tickets/", {
                "queue": queue, "title": content.title(ticket.subject),
                "description": content.ticket_description(ticket, files, skipped),
                "submitter_email": ticket.requester.email, "priority": PRIORITY})
            opening = _opening(created)
            if opening is None:
                raise HelpdeskRefused(f"django-helpdesk made ticket #{created.get('id')} without its opening "
                                      "follow-up: is DJANGO_HELPDESK_URL a django-helpdesk 2.6?")
            unfinished = _Unfinished(int(created["id"]), int(opening["id"]), 0)
        self._finish(unfinished, files)
        return self._delivered(unfinished)

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        number = _number(remote_ticket_id)
        files, skipped = content.uploads(message.attachments)
        unfinished = self._unfinished.pop(message.key, None)
        if unfinished is None or unfinished.ticket != number:
            # No title: django-helpdesk gives a follow-up's title to its ticket (update_ticket.py).
            created = self._api.post("/api/followups/", {
                "ticket": number, "comment": content.followup_comment(message, files, skipped),
                "public": message.public})
            unfinished = _Unfinished(number, int(created["id"]), 0)
        self._finish(unfinished, files)
        return self._delivered(unfinished)

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        number = _number(remote_ticket_id)
        if self._api.ticket(number).get("status") in ACTIVE:
            return
        # A private follow-up without a word: the change is in the ticket's history, nobody is mailed
        # about it, and a retry finds the ticket open already.
        self._api.post("/api/followups/", {"ticket": number, "public": False, "new_status": REOPENED,
                                           "comment": ""})
        status = self._api.ticket(number).get("status")
        if status not in ACTIVE:
            raise HelpdeskRefused(f"django-helpdesk did not reopen ticket #{number} (its status is {status})")

    def find_ticket(self, key: str) -> Delivered | None:
        for ticket in self._api.newest_tickets():
            marker = content.find_marker(ticket.get("description"))
            if marker is None or marker.ticket != key:
                continue
            opening = _opening(ticket)
            if opening is None:
                return Delivered(str(ticket["id"]), url=self.ticket_url(str(ticket["id"])))
            return self._found(key, int(ticket["id"]), opening, marker.files)
        return None

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        number = _number(remote_ticket_id)
        # The opening follow-up's comment is the description: the first message's key is there too.
        for item in sorted(self._api.ticket(number).get("followup_set") or [], key=lambda found: found["id"]):
            marker = content.find_marker(item.get("comment"))
            if marker is not None and marker.message == key:
                return self._found(key, number, item, marker.files)
        return None

    def ticket_url(self, remote_ticket_id: str) -> str | None:
        return f"{self._api.base}/tickets/{_number(remote_ticket_id)}/"

    def check(self, queues: Sequence[str]) -> CheckResult:
        result = CheckResult(destination=f"django_helpdesk {self._api.where}")
        try:
            self._api.get("/api/tickets/", {"page_size": 1})
        except HelpdeskError as exc:
            result.problems.append(exc.reason)
            return result
        result.ok.append(f"django-helpdesk at {self._api.where} accepts {self._api.identity} as staff")
        for queue in dict.fromkeys(queues):
            try:
                problem = self._queue_problem(queue)
            except HelpdeskError as exc:
                problem = f"queue {queue}: {exc.reason}"
            (result.problems if problem else result.ok).append(problem or f"queue {queue}: tickets can be opened")
        return result

    def tickets_in_event(self, call: WebhookCall) -> list[str]:
        return tickets_in_event(call, self._secret)

    def ticket_replies(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        return ticket_replies(self._api, _number(remote_ticket_id), since)

    def close(self) -> None:
        self._api.close()

    def _queue_problem(self, queue: str) -> str | None:
        """A ticket without a title is refused before anything is saved; the refusal names the queue
        too when DJANGO_HELPDESK_USER may not use it (its API lists no queues)."""
        number = _queue(queue)
        response = self._api.request("POST", "/api/tickets/", json_body={"queue": number}, ok=(400,))
        said = self._api.json(response)
        if isinstance(said, dict) and said.get("queue"):
            return (f"queue {queue}: django-helpdesk has no queue with id {number} that "
                    f"{self._api.identity} may use ({' '.join(map(str, said['queue']))})")
        return None

    def _found(self, key: str, number: int, followup: dict[str, Any], files: int) -> Delivered | None:
        present = len(followup.get("followupattachment_set") or [])
        if present < files:     # cut short: the retry's open_ticket / add_message completes it
            self._unfinished[key] = _Unfinished(number, int(followup["id"]), present)
            return None
        return Delivered(str(number), str(followup["id"]), self.ticket_url(str(number)))

    def _finish(self, unfinished: _Unfinished, files: list[content.Upload]) -> None:
        for file in files[unfinished.present:]:
            self._api.upload(unfinished.followup, file)

    def _delivered(self, unfinished: _Unfinished) -> Delivered:
        return Delivered(str(unfinished.ticket), str(unfinished.followup), self.ticket_url(str(unfinished.ticket)))


def _opening(ticket: dict[str, Any]) -> dict[str, Any] | None:
    """The ticket's first follow-up ("Ticket Opened"): it holds the description and the first files."""
    followups = ticket.get("followup_set") or []
    return min(followups, key=lambda item: item["id"]) if followups else None


def _queue(queue: str) -> int:
    text = str(queue).strip()
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskRefused(f"HELPDESK_QUEUES must map to django-helpdesk queue ids (its API lists no queues), "
                              f"not {text!r}: the id is in the queue's admin URL")
    return int(text)


def _number(remote_ticket_id: str | int) -> int:
    text = str(remote_ticket_id).strip()
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskRefused(f"{text!r} is not a django-helpdesk ticket id")
    return int(text)
