"""What the shared contract suite (test_contract.py) needs of each helpdesk destination under test.

One `Destination` per HELPDESK value: it builds the real adapter on the test's requests session
(through which the suite loses answers, as a crash between the helpdesk's answer and our commit
would) and reads back what the helpdesk holds, from the helpdesk itself: a real server (RT,
django-helpdesk), a stateful fake behind `responses` built from the product's documented bodies
(Zendesk, Zammad, Freshdesk, FreeScout), the webhook receiver, or our own store (builtin).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import requests

from connector.helpdesk.port import Helpdesk, WebhookCall


@dataclass
class SeenMessage:
    public: bool                    # customer correspondence (True) or an internal note (False)
    body: str                       # its text as the helpdesk shows it (HTML reduced to text is fine)
    author: str                     # the author's email address as the helpdesk records it, lower-case
    files: dict[str, bytes] = field(default_factory=dict)   # attachment name -> bytes, as downloaded


@dataclass
class SeenTicket:
    remote_id: str
    subject: str
    requester: str                  # lower-case email
    queue: str                      # the queue/group name (or id, as configured in HELPDESK_QUEUES)
    status: str                     # the product's own word ("new", "open", "solved", ...)
    messages: list[SeenMessage] = field(default_factory=list)   # oldest first


class Destination(Protocol):
    name: str                       # the HELPDESK value
    queue: str                      # what HELPDESK_QUEUES maps the test group to
    settings: dict                  # Settings(**settings) overrides beyond helpdesk and queues (URLs, secrets)
    loses_answers: bool             # the suite can lose the answer of a request that reached the helpdesk

    def helpdesk(self, session: requests.Session) -> Helpdesk | None:
        """The real adapter, sending through `session` (None for builtin)."""

    def tickets(self, requester: str) -> list[SeenTicket]:
        """Every ticket the helpdesk holds whose requester is this address, oldest first."""

    def solve(self, remote_id: str) -> None:
        """An agent marks the ticket solved/resolved/closed (the product's word for done)."""

    def answer(self, remote_id: str, text: str, *, public: bool = True) -> WebhookCall | None:
        """An agent writes on the ticket: a public answer to the customer, or an internal note. Returns
        the call the helpdesk's trigger/webhook then makes to POST /helpdesk/events (None for a
        helpdesk whose answers are polled, like RT)."""

    def close(self) -> None:
        """Stop what the destination started."""


@dataclass(frozen=True)
class ApiAnswer:
    """For destinations whose agents answer through our admin API (builtin, webhook): what to POST to
    /api/tickets/{ticket_id}/replies, with the Idempotency-Key a careful caller sends."""
    ticket_id: int
    body: str
    private: bool
    idempotency_key: str
