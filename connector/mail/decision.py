"""What the pipeline decides for one message, and the read-only context it decides from.

The pipeline (connector/mail/pipeline.py) is pure: it reads the store only through
`MailContext`, and returns one `Decision` that the store applies in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, Sequence, Union

from connector.mail.model import Address, Attachment


@dataclass(frozen=True)
class Arrival:
    """Where and how a message reached us (not what it says)."""
    source: str                       # "gmail" (direct sync) or "smtp" (forwarded to a support address)
    inbox_address: str                # the connected inbox or support address that received it
    received_at_address: str          # the support address it was addressed to (routing key)
    group: str                        # group the receiving address routes to
    received_at: datetime
    gmail_id: str | None = None
    gmail_thread_id: str | None = None
    label_ids: tuple[str, ...] = ()
    envelope_from: str = ""           # SMTP MAIL FROM as received ("" for Gmail mail or the null sender)


@dataclass(frozen=True)
class TicketRef:
    id: int
    status: str                       # new | open | pending | solved
    participants: frozenset[str]      # lower-case emails of requester and everyone who wrote on it


class MailContext(Protocol):
    """Read-only questions the pipeline asks the store."""

    support_addresses: frozenset[str]     # connected inboxes + support/external addresses, lower-case

    def ticket_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        """A ticket holding any of these Message-IDs (inbound comments or mail we sent)."""
        ...

    def ticket_for_gmail_thread(self, inbox_address: str, thread_id: str) -> TicketRef | None: ...

    def ticket_by_id(self, ticket_id: int) -> TicketRef | None: ...

    def comment_exists(self, ticket_id: int, message_id: str) -> bool: ...

    def recent_mail_count(self, sender_email: str, since: datetime) -> int:
        """How many messages from this sender were accepted since `since` (mail-loop guard)."""
        ...


@dataclass(frozen=True)
class NewComment:
    author: Address
    body_text: str
    body_html: str | None
    public: bool
    message_id: str
    attachments: tuple[Attachment, ...] = ()
    notes: tuple[str, ...] = ()       # e.g. "attachment big.iso (80 MB) over the 50 MB limit, not stored"
    cc: tuple[Address, ...] = ()      # other customers on the mail's Cc (not us, not the author)


@dataclass(frozen=True)
class CreateTicket:
    subject: str
    requester: Address
    group: str
    received_at_address: str
    comment: NewComment
    flags: tuple[str, ...] = ()       # "bulk", "multi_forward", ...


@dataclass(frozen=True)
class AddComment:
    ticket_id: int
    comment: NewComment
    reopen: bool                      # customer answered a pending/solved ticket


@dataclass(frozen=True)
class Suspend:
    reason: str                       # readable by a person: "auto-reply (Auto-Submitted: auto-replied)"
    kind: str                         # machine key: auto_reply | bounce | report | own_address | loop | ...


@dataclass(frozen=True)
class Skip:
    reason: str                       # already imported, our own sent mail seen again, ...


Decision = Union[CreateTicket, AddComment, Suspend, Skip]


@dataclass(frozen=True)
class Trace:
    """Which step decided, and what every step before it said: shown by `parse --explain` and logs."""
    decision: Decision
    steps: tuple[tuple[str, str], ...] = field(default_factory=tuple)


LOOP_WINDOW = timedelta(hours=1)
LOOP_MAX_PER_WINDOW = 20


@dataclass(frozen=True)
class ForwardingMail:
    """Mail about a forwarding setup, not from a customer: Google's confirmation request, or our own
    verification test arriving forwarded. Never a ticket, never held back as an auto-reply: the store
    attaches it to the external address it belongs to."""
    kind: str                         # confirmation | verification
    received_at_address: str          # the support address it reached
    reason: str                       # readable: "Gmail forwarding confirmation from ... (code ...)"
    requested_by: str = ""            # confirmation: the Gmail address asking to forward
    code: str | None = None           # confirmation code (newer confirmation mails may lack it)
    link: str | None = None           # confirmation link
    token: str | None = None          # verification: the test mail's token
    hops: int = 0                     # forwards the mail crossed on its way here


# The union above predates forwarding; the pipeline may also decide ForwardingMail.
AnyDecision = Union[Decision, ForwardingMail]
