"""A helpdesk that lives in memory and behaves like one: tickets, messages, keys, outages and refusals.

Stateful, like the real ones, so the delivery job's exactly-once promise is checked against what
the helpdesk ends up holding, not against the calls made.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from connector.helpdesk.port import (AgentReply, CheckResult, Delivered, HelpdeskMessage, HelpdeskRefused, HelpdeskUnavailable,
                                     NewHelpdeskTicket)


@dataclass
class RemoteTicket:
    id: str
    key: str
    subject: str
    requester: str
    queue: str
    cc: list[str]
    status: str = "new"
    messages: list[HelpdeskMessage] = field(default_factory=list)


class CrashAfterSending(BaseException):
    """The process died after the helpdesk took the request, before we recorded its answer."""


class MemoryHelpdesk:
    name = "memory"

    def __init__(self) -> None:
        self.tickets: dict[str, RemoteTicket] = {}
        self.down: str | None = None           # a reason: every call raises HelpdeskUnavailable
        self.retry_after: float | None = None
        self.refuse_subjects: set[str] = set()
        self.crash_after_next_send = False
        self.calls: list[str] = []
        self.answers: list[AgentReply] = []     # agents' answers, in the order they were written

    def _gate(self, call: str) -> None:
        self.calls.append(call)
        if self.down:
            raise HelpdeskUnavailable(self.down, self.retry_after)

    def _sent(self) -> None:
        if self.crash_after_next_send:
            self.crash_after_next_send = False
            raise CrashAfterSending()

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        self._gate("open_ticket")
        if ticket.subject in self.refuse_subjects:
            raise HelpdeskRefused(f"queue {ticket.queue}: subject {ticket.subject!r} refused")
        remote = RemoteTicket(id=str(100 + len(self.tickets)), key=ticket.key, subject=ticket.subject,
                              requester=ticket.requester.email, queue=ticket.queue, cc=[p.email for p in ticket.cc],
                              messages=[ticket.first])
        self.tickets[remote.id] = remote
        self._sent()
        return Delivered(remote.id, f"{remote.id}/1", url=f"https://helpdesk.example/t/{remote.id}")

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        self._gate("add_message")
        ticket = self.tickets.get(remote_ticket_id)
        if ticket is None:
            raise HelpdeskRefused(f"ticket {remote_ticket_id} does not exist")
        ticket.messages.append(message)
        self._sent()
        return Delivered(remote_ticket_id, f"{remote_ticket_id}/{len(ticket.messages)}")

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        self._gate("reopen")
        self.tickets[remote_ticket_id].status = "open"

    def find_ticket(self, key: str) -> Delivered | None:
        self._gate("find_ticket")
        for ticket in self.tickets.values():
            if ticket.key == key:
                return Delivered(ticket.id, url=f"https://helpdesk.example/t/{ticket.id}")
        return None

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        self._gate("find_message")
        for n, message in enumerate(self.tickets[remote_ticket_id].messages, 1):
            if message.key == key:
                return Delivered(remote_ticket_id, f"{remote_ticket_id}/{n}")
        return None

    def agent_answers(self, remote_ticket_id: str, reply: AgentReply) -> None:
        """An agent writes an answer in the helpdesk."""
        self.answers.append(reply)

    def agent_replies(self, after: str | None, limit: int) -> tuple[list[AgentReply], str | None]:
        self._gate("agent_replies")
        if after is None:
            return [], str(len(self.answers))
        start = int(after)
        batch = self.answers[start:start + limit]
        return batch, str(start + len(batch))

    def ticket_url(self, remote_ticket_id: str) -> str | None:
        return f"https://helpdesk.example/t/{remote_ticket_id}"

    def check(self, queues) -> CheckResult:
        return CheckResult(self.name, ok=["reachable"])

    def close(self) -> None:
        pass
