"""Request Tracker 5 as a helpdesk destination, through its REST 2.0 (docs/request-tracker.md).

Each ticket carries our key in a ticket custom field (Gmail-Connector-Key) and each message its
key in a transaction custom field (Gmail-Connector-Message-Key), so `find_ticket` and
`find_message` are one TicketSQL / TransactionSQL search each. Customer mail is correspondence,
auto-replies and bounces are comments; everything is POSTed as multipart/form-data, which keeps
attachment file names intact. RT itself must not mail customers: see the guide's scrips section.
"""
from __future__ import annotations

from typing import Sequence

import requests

from connector.helpdesk.port import (AgentReply, CheckResult, Delivered, HelpdeskMessage, HelpdeskRefused,
                                     NewHelpdeskTicket)
from connector.helpdesk.rt_check import check_rt
from connector.helpdesk.rt_content import address, message_fields, sql, upload_parts
from connector.helpdesk.rt_queues import MESSAGE_FIELD, TICKET_FIELD, Queues
from connector.helpdesk.rt_replies import Replies
from connector.helpdesk.rt_requests import DEFAULT_TIMEOUT, RTClient

ACTIVE = ("new", "open")


class RequestTracker:
    name = "rt"

    def __init__(self, url: str, *, user: str = "", password: str = "", token: str = "",
                 key_field: str = "Gmail-Connector-Key", message_key_field: str = "Gmail-Connector-Message-Key",
                 session: requests.Session | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        self._rt = RTClient(url, user=user, password=password, token=token, session=session, timeout=timeout)
        self.key_field, self.message_key_field = key_field, message_key_field
        self._queues = Queues(self._rt, key_field, message_key_field)

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        queue = self._queues.lookup(ticket.queue)
        who = self._rt.identity
        if queue is None:
            raise HelpdeskRefused(f"queue {ticket.queue} does not exist in RT, or {who} may not see it (SeeQueue)")
        if not queue.can_create:
            raise HelpdeskRefused(f"{who} cannot CreateTicket in queue {ticket.queue}")
        message_field = queue.field(self.message_key_field, MESSAGE_FIELD)
        for name, found in ((self.key_field, queue.field(self.key_field, TICKET_FIELD)),
                            (self.message_key_field, message_field)):
            if found is None:   # RT would drop the key silently, and a retry would open a second ticket
                raise HelpdeskRefused(f"custom field {name} does not apply to queue {ticket.queue} in RT, or "
                                      f"{who} may not see it (SeeCustomField)")
        files, skipped = upload_parts(ticket.first.attachments)
        fields = {"Queue": queue.name, "Subject": ticket.subject, "Requestor": address(ticket.requester),
                  "CustomFields": {self.key_field: ticket.key},
                  f"Object-RT::Transaction--CustomField-{message_field}": ticket.first.key,
                  **message_fields(ticket.first, skipped)}
        if ticket.cc:
            fields["Cc"] = [address(person) for person in ticket.cc]
        created = self._rt.json(self._rt.post_parts("/ticket", fields, files))
        number = str(created["id"])
        return Delivered(remote_ticket_id=number, url=self.ticket_url(number))

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        number = _number(remote_ticket_id)
        files, skipped = upload_parts(message.attachments)
        fields = {**message_fields(message, skipped), "TxnCustomFields": {self.message_key_field: message.key}}
        kind = "correspond" if message.public else "comment"
        response = self._rt.post_parts(f"/ticket/{number}/{kind}", fields, files)
        transaction = response.headers.get("Location", "").rstrip("/").rpartition("/")[2] or None
        return Delivered(remote_ticket_id=str(number), remote_item_id=transaction, url=self.ticket_url(number))

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        number = _number(remote_ticket_id)
        if self._status(number) in ACTIVE:
            return
        said = self._rt.put(f"/ticket/{number}", {"Status": "open"})
        if self._status(number) != "open":
            raise HelpdeskRefused(self._rt.scrub(f"RT did not reopen ticket #{number}: "
                                                 f"{' '.join(map(str, said)) or 'no reason given'}"))

    def find_ticket(self, key: str) -> Delivered | None:
        found = self._first("/tickets", f"CF.{{{self.key_field}}} = {sql(key)}")
        return None if found is None else Delivered(remote_ticket_id=found, url=self.ticket_url(found))

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        number = _number(remote_ticket_id)
        found = self._first("/transactions", f"ObjectType = 'RT::Ticket' AND ObjectId = {number} AND "
                                             f"CF.{{{self.message_key_field}}} = {sql(key)}")
        return None if found is None else Delivered(str(number), found, self.ticket_url(number))

    def ticket_url(self, remote_ticket_id: str | int) -> str | None:
        return f"{self._rt.base}/Ticket/Display.html?id={_number(remote_ticket_id)}"

    def check(self, queues: Sequence[str]) -> CheckResult:
        return check_rt(self._rt, self._queues, self.key_field, self.message_key_field, queues)

    def agent_replies(self, after: str | None, limit: int = 100) -> tuple[list[AgentReply], str | None]:
        """Agents' correspondence after the cursor (a transaction id), oldest first: see rt_replies."""
        return Replies(self._rt, self.key_field, self.message_key_field).since(after, limit)

    def close(self) -> None:
        self._rt.close()

    def _status(self, number: int) -> str:
        return str(self._rt.get(f"/ticket/{number}").get("Status", ""))

    def _first(self, path: str, query: str) -> str | None:
        found = self._rt.get(path, {"query": query, "orderby": "id", "order": "ASC", "per_page": 1})
        items = found.get("items") or []
        return str(items[0]["id"]) if items else None


def _number(remote_ticket_id: str | int) -> int:
    text = str(remote_ticket_id).strip()
    if not (text.isascii() and text.isdigit()):
        raise HelpdeskRefused(f"{text!r} is not an RT ticket number")
    return int(text)
