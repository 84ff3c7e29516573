"""The Pub/Sub port: what the push listener needs from a pull subscription, in the connector's words.

Gmail's users.watch publishes one small message per mailbox change ("this address is now at
history id N"); the listener pulls them, syncs the mailbox, then acknowledges. Everything outside
`connector/pubsub/google.py` talks through `PullSource` and catches the errors below; none of it
sees `googleapiclient`, an HTTP status or base64.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence, Union


# ---- errors -------------------------------------------------------------------------------

class PubSubError(Exception):
    """Base of every error the Pub/Sub port raises. Messages name resources, never a key or token."""


class SubscriptionMissing(PubSubError):
    """The subscription does not exist (or was deleted): create it, or fix the setting."""


class TopicMissing(PubSubError):
    """The subscription's topic does not exist (or was deleted): Gmail has nowhere to publish."""


class PubSubDenied(PubSubError):
    """The credentials were refused or lack a role on the subscription or topic; retrying won't help."""


class PubSubRejected(PubSubError):
    """Pub/Sub refused the request as invalid (400), e.g. a malformed name; retrying won't help."""


class PubSubUnavailable(PubSubError):
    """Network failure, 5xx or quota (429): temporary, the listener backs off and pulls again."""


# ---- values -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Notification:
    """Gmail says: the mailbox `email_address` changed; its history now reaches `history_id`."""
    ack_id: str
    email_address: str
    history_id: int
    publish_time: datetime | None
    message_id: str


@dataclass(frozen=True)
class Malformed:
    """A message on the subscription that is not a Gmail notification; acked and counted, never retried."""
    ack_id: str
    message_id: str
    publish_time: datetime | None
    reason: str                       # for a person reading the log
    preview: bytes = b""              # the start of the payload, for the same person


Pulled = Union[Notification, Malformed]


@dataclass(frozen=True)
class SubscriptionInfo:
    """What check() found: the subscription exists, and so does the topic it is attached to."""
    name: str
    topic: str
    ack_deadline_seconds: int


# ---- the port -----------------------------------------------------------------------------

class PullSource(Protocol):
    """One pull subscription. Implemented by GooglePubSub; tests run it against Google's emulator."""

    def pull(self, max_messages: int, wait: float) -> list[Pulled]:
        """Up to max_messages, waiting at most about `wait` seconds for the first; [] when none came."""
        ...

    def ack(self, ack_ids: Sequence[str]) -> None:
        """Done with these messages: Pub/Sub drops them (acking twice or late is harmless)."""
        ...

    def extend(self, ack_ids: Sequence[str], seconds: int) -> None:
        """Keep these for `seconds` more (0..600) before redelivery; 0 hands them back at once."""
        ...

    def check(self) -> SubscriptionInfo:
        """Raises SubscriptionMissing or TopicMissing (naming it), PubSubDenied, PubSubUnavailable."""
        ...

    def close(self) -> None:
        """Release the connections."""
        ...
