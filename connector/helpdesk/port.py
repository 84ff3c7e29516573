"""The helpdesk port: what the connector asks of the helpdesk a team works in, in our own words.

An adapter (Request Tracker, a signed webhook, ...) implements `Helpdesk`. The delivery job
(jobs/deliver_events.py) hands it one event at a time, in order per ticket, each with our
idempotency key; before retrying an event that may have reached the helpdesk already (a crash
or a timeout after sending), it asks `find_ticket` / `find_message` with that key first, so a
retry never makes a second ticket or a second comment. Adapters raise `HelpdeskUnavailable`
for "try again later" and `HelpdeskRefused` for "this will never work as sent".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Protocol, Sequence


@dataclass(frozen=True)
class Person:
    name: str
    email: str                      # lower-case


@dataclass(frozen=True)
class FileToDeliver:
    filename: str
    content_type: str
    payload: bytes
    inline: bool = False
    content_id: str | None = None   # without angle brackets
    attachment_id: int | None = None  # our stored attachment's id (a link to it can be served); None for original.eml


@dataclass(frozen=True)
class HelpdeskMessage:
    """One message on a ticket: the customer's mail (public) or a linked auto-reply/bounce (a note)."""
    key: str                        # ours, stable across retries: the lookup before a retry uses it
    author: Person
    body_text: str
    body_html: str | None
    message_id: str                 # the mail's Message-ID, without angle brackets
    created_at: datetime
    public: bool = True
    cc: tuple[Person, ...] = ()
    attachments: tuple[FileToDeliver, ...] = ()
    our_ticket_id: int = 0


@dataclass(frozen=True)
class NewHelpdeskTicket:
    key: str                        # ours, e.g. "gmc-3f2a9c-t42"
    our_ticket_id: int
    subject: str
    requester: Person
    queue: str                      # the helpdesk's queue/group, from HELPDESK_QUEUES
    first: HelpdeskMessage
    cc: tuple[Person, ...] = ()


@dataclass(frozen=True)
class Delivered:
    """Where the helpdesk put it."""
    remote_ticket_id: str
    remote_item_id: str | None = None   # the helpdesk's transaction / article / comment id
    url: str | None = None              # a link an agent can open


@dataclass(frozen=True)
class AgentReply:
    """An agent's public answer written in the helpdesk, for the connector to send through Gmail."""
    key: str                        # the helpdesk's own stable id for it, e.g. "txn-812": sent once per key
    remote_ticket_id: str
    ticket_key: str | None          # our ticket key, when the helpdesk ticket carries it
    author: Person
    body_text: str                  # plain text (HTML answers converted)
    created_at: datetime
    attachments: tuple[FileToDeliver, ...] = ()
    cc: tuple[Person, ...] = ()     # one-time recipients the agent added


class HelpdeskError(Exception):
    """Base of what an adapter raises; `reason` is one line a person can act on (never a secret)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class HelpdeskUnavailable(HelpdeskError):
    """Not now: connection refused, timeout, 5xx, 429. `retry_after` in seconds when the helpdesk said."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class CredentialsRefused(HelpdeskUnavailable):
    """The helpdesk refused our credentials (401): no event's fault, so every event waits and is retried
    with backoff until an operator fixes the settings; the status page shows the refusal and the fix."""


class HelpdeskRefused(HelpdeskError):
    """Never as sent: a 4xx other than 429 (bad credentials, no right on the queue, invalid field)."""


@dataclass(frozen=True)
class CheckResult:
    """`helpdesk check`: what works and, one line each, what is missing and how to fix it."""
    destination: str
    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Helpdesk(Protocol):
    name: str                       # "rt", "webhook", ...

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        """Create the ticket with its first message (and its attachments)."""

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        """Add a message to a ticket: public correspondence from the customer, or an internal
        note when `message.public` is False. Never sends mail to the customer."""

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        """The customer answered: open the ticket again if the helpdesk has it solved, pending or closed;
        leave an active ticket as it is (sent after every customer answer: only the helpdesk knows
        whether its agents solved the ticket)."""

    def find_ticket(self, key: str) -> Delivered | None:
        """The ticket delivered earlier under this key, if the helpdesk has it."""

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        """The message delivered earlier under this key on that ticket, if any."""

    def ticket_url(self, remote_ticket_id: str) -> str | None:
        """A link an agent can open, or None."""

    def check(self, queues: Sequence[str]) -> CheckResult:
        """Reachable, credentials accepted, rights to create and correspond in each queue."""

    def close(self) -> None:
        """Release connections."""


class ReplySource(Protocol):
    """A helpdesk whose agents answer in it (RT): the connector reads their answers and sends them.

    A webhook destination has no such method: the other side POSTs answers to the admin API."""

    def agent_replies(self, after: str | None, limit: int) -> tuple[list[AgentReply], str | None]:
        """Agents' public answers after the cursor `after`, oldest first, and the cursor after them.

        `after=None` (the first call ever) returns no answers and the cursor of "now": answers
        written before the connector was set up are not sent. Internal comments are never returned,
        nor what the connector itself wrote."""


@dataclass(frozen=True)
class WebhookCall:
    """A call a helpdesk made to our admin endpoint (POST /helpdesk/events[/SECRET]), not yet trusted."""
    headers: Mapping[str, str]      # names lower-case
    body: bytes
    path_secret: str | None         # the SECRET of /helpdesk/events/SECRET, for helpdesks that cannot sign
    received_at: float              # unix seconds, for signature timestamps


class EventRefused(HelpdeskError):
    """A webhook call that is not the helpdesk's: a missing or wrong signature or secret, a stale
    timestamp, a body that is not what the helpdesk sends. Answered 401, nothing recorded."""


class EventSource(Protocol):
    """A helpdesk that tells us through its own webhook/trigger that agents answered (Zendesk, Zammad,
    Freshdesk, FreeScout, django-helpdesk). The call only says which tickets changed; the answers
    themselves are read back through the API, so a forged or replayed call can at worst cause a read.
    """

    def tickets_in_event(self, call: WebhookCall) -> list[str]:
        """Check that the call is the helpdesk's (HELPDESK_WEBHOOK_SECRET: its signature, or the secret
        in the URL) and return the remote ticket ids it is about; raise EventRefused otherwise."""

    def ticket_replies(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        """Agents' public answers on that ticket written after `since`, oldest first: never internal
        notes, never what the connector itself added. Each reply's `key` is the helpdesk's own stable
        id of it (sent once per key)."""
