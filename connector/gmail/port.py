"""The Gmail port: what the connector needs from a mailbox, in the connector's own words.

Everything outside `connector/gmail/google.py` talks to Gmail through `GmailGateway` and
catches the errors below; none of it sees `googleapiclient` or an HTTP status.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Protocol, Sequence


# ---- errors -------------------------------------------------------------------------------

class GmailError(Exception):
    """Base of every error the Gmail port raises. Messages never contain a token or key."""


class AuthRevoked(GmailError):
    """The stored grant is dead (invalid_grant, revoked, 401 after refresh): consent again."""


class InsufficientScope(GmailError):
    """The grant lacks a scope the call needs; the message names the feature."""


class ForwardingNotPermitted(GmailError):
    """Google only lets a service account with domain-wide delegation change forwarding."""


class RateLimited(GmailError):
    """Per-user quota or concurrency exceeded (429 / 403 rateLimit reasons) after retries."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ForwardingRulesLimited(RateLimited):
    """Gmail's own limit on changing forwarding rules (filters that forward, forwarding addresses).

    Its stated retry time is not to be trusted, so the adapter does not wait in the call: the caller
    schedules the next try with its own, longer backoff."""


class SendingLimitExceeded(RateLimited):
    """The mailbox hit Gmail's daily sending cap; sending waits until the cap resets."""


class WatchRefused(GmailError):
    """users.watch refused the topic (missing, in another project, or Gmail may not publish to it).

    The message says what to fix in the Cloud console; the inbox keeps polling meanwhile."""


class HistoryExpired(GmailError):
    """The history cursor is older than Gmail keeps (404 on history.list): resync in full."""


class NotFound(GmailError):
    """The message, label, filter or address does not exist (any more)."""


class InvalidRequest(GmailError):
    """Gmail refused the request as malformed (400); retrying will not help."""


class TransientError(GmailError):
    """5xx or network failure that persisted through the adapter's retries."""


# ---- values -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    email: str
    history_id: str
    messages_total: int = 0
    threads_total: int = 0


@dataclass(frozen=True)
class RawMessage:
    """One message fetched with format=raw: the exact bytes plus Gmail's bookkeeping."""
    id: str
    thread_id: str
    label_ids: tuple[str, ...]
    history_id: str
    internal_date_ms: int
    raw: bytes
    size_estimate: int = 0


@dataclass(frozen=True)
class HistoryDelta:
    """What changed since a cursor: ids of messages added to the mailbox, and the new cursor."""
    added_message_ids: tuple[str, ...]
    deleted_message_ids: tuple[str, ...]
    history_id: str


@dataclass(frozen=True)
class FetchResult:
    """Outcome of a batched raw fetch: messages by id, plus ids that failed and why."""
    messages: dict[str, RawMessage] = field(default_factory=dict)
    missing: tuple[str, ...] = ()                       # deleted between listing and fetching
    failed: dict[str, GmailError] = field(default_factory=dict)


@dataclass(frozen=True)
class WatchStarted:
    """What users.watch answered: the mailbox's history id now, and when the watch lapses."""
    history_id: str
    expiration: datetime


@dataclass(frozen=True)
class Label:
    id: str
    name: str
    type: str = "user"


@dataclass(frozen=True)
class ForwardingAddress:
    email: str
    verification_status: str          # "accepted" | "pending"


@dataclass(frozen=True)
class FilterRule:
    id: str
    criteria: dict
    action: dict


@dataclass(frozen=True)
class SendAs:
    email: str
    display_name: str = ""
    is_primary: bool = False
    is_default: bool = False
    verification_status: str = "accepted"


@dataclass(frozen=True)
class SentMessage:
    id: str
    thread_id: str
    label_ids: tuple[str, ...] = ()


# ---- the port -----------------------------------------------------------------------------

class GmailGateway(Protocol):
    """One mailbox ("me") seen through Gmail. Implemented by GoogleGmail; tests use the sandbox."""

    def profile(self) -> Profile: ...

    def list_message_ids(self, query: str = "", label_ids: Sequence[str] = (), limit: int | None = None,
                         include_spam_trash: bool = False) -> list[str]:
        """Ids matching a Gmail search, newest first, following page tokens up to `limit`."""
        ...

    def history_since(self, start_history_id: str) -> HistoryDelta:
        """All messageAdded/messageDeleted since the cursor (all pages). Raises HistoryExpired."""
        ...

    def fetch_raw(self, message_ids: Sequence[str]) -> FetchResult:
        """format=raw for each id, batched (at most 50 per batch), failed parts retried."""
        ...

    def labels(self) -> list[Label]: ...

    def ensure_label(self, name: str) -> Label:
        """The user label with this name, created if missing (nested names like A/B are fine)."""
        ...

    def modify_labels(self, message_ids: Sequence[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        """batchModify in chunks of 1,000 ids."""
        ...

    def find_by_message_id(self, rfc822_message_id: str, include_spam_trash: bool = True) -> list[str]:
        """Gmail ids of messages whose Message-ID header is this one (rfc822msgid: search)."""
        ...

    def send(self, raw: bytes, thread_id: str | None = None) -> SentMessage: ...

    def watch(self, topic: str, label_ids: Sequence[str] = ("INBOX",)) -> WatchStarted:
        """Push notifications of this mailbox's changes to a Pub/Sub topic (replaces an earlier watch)."""

    def stop_watch(self) -> None: ...

    def send_as(self) -> list[SendAs]: ...

    def forwarding_addresses(self) -> list[ForwardingAddress]: ...

    def create_forwarding_address(self, email: str) -> ForwardingAddress: ...

    def delete_forwarding_address(self, email: str) -> None: ...

    def filters(self) -> list[FilterRule]: ...

    def create_filter(self, criteria: dict, action: dict) -> FilterRule: ...

    def delete_filter(self, filter_id: str) -> None: ...

    def auto_forwarding(self) -> dict: ...

    def update_auto_forwarding(self, enabled: bool, email_address: str = "", disposition: str = "leaveInInbox") -> dict: ...

    def close(self) -> None:
        """Release the connection; a gateway serves one pass or job, then is closed."""
        ...
