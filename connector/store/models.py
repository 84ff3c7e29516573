"""Database tables for inboxes, their credentials, raw mail and held-back mail.

Ticket tables live in `ticket_models`; both are re-exported here so callers import one place.
String columns hold short enumerations (documented beside each) rather than database enums,
so later issues can add a value without a schema migration.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow

# Named constraints make later migrations (and SQLite batch rebuilds) able to find them again.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Inbox(SQLModel, table=True):
    __tablename__ = "inboxes"

    id: Optional[int] = Field(default=None, primary_key=True)
    address: str = Field(unique=True)                  # lower-case
    group: str = "Support"
    # direct: synced through the API; forwarding: an external address whose mail arrives forwarded
    # by SMTP, connected for its settings only (never synced, never sent through; issue 18).
    mode: str = "direct"                               # direct | forwarding
    credential_kind: str = "authorized_user"           # authorized_user | service_account
    credential_ref: str = Field(default="", sa_type=Text)  # a path or key id, never a secret
    state: str = "active"                              # active | paused | needs_reauth | error
    history_id: Optional[str] = None                   # Gmail history cursor
    backfill_done: bool = False
    poll_interval_seconds: Optional[int] = None        # overrides POLL_INTERVAL_SECONDS
    last_sync_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    last_success_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    last_error: Optional[str] = Field(default=None, sa_type=Text)
    last_error_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    next_run_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    backoff_until: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    consecutive_failures: int = 0
    imported_total: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Credential(SQLModel, table=True):
    """The encrypted grant of one inbox; plaintext tokens are never stored anywhere."""
    __tablename__ = "credentials"

    id: Optional[int] = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inboxes.id", ondelete="CASCADE", unique=True)
    kind: str                                          # authorized_user | service_account
    secret_ciphertext: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class RawMail(SQLModel, table=True):
    """The exact bytes of every message received, stored before anything acts on them."""
    __tablename__ = "raw_mails"
    __table_args__ = (
        UniqueConstraint("inbox_id", "gmail_id"),
        # The mail-loop guard counts recent mail per sender.
        Index("ix_raw_mails_from_email_received_at", "from_email", "received_at"),
        # The status counts the last 24 h per inbox of one page, and in all, from these alone (0014).
        Index("ix_raw_mails_inbox_id_received_at", "inbox_id", "received_at"),
        Index("ix_raw_mails_received_at_inbox_id", "received_at", "inbox_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str                                        # gmail | smtp
    inbox_id: Optional[int] = Field(default=None, foreign_key="inboxes.id", ondelete="SET NULL")
    gmail_id: Optional[str] = None
    gmail_thread_id: Optional[str] = None
    label_ids: str = Field(default="", sa_type=Text)   # comma-joined
    message_id: str = Field(default="", index=True)    # header value, without angle brackets
    from_email: str = ""                               # lower-case
    subject: str = Field(default="", sa_type=Text)
    sha256: str
    size: int
    raw: bytes = Field(sa_type=LargeBinary)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    internal_date: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    envelope_from: Optional[str] = None
    envelope_to: str = Field(default="", sa_type=Text)  # comma-joined
    state: str = Field(default="pending", index=True)  # pending | processed | failed
    outcome: str = Field(default="", sa_type=Text)      # "ticket 12 created", "suspended: ...", ...
    error: Optional[str] = Field(default=None, sa_type=Text)
    processed_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)


class SuspendedMail(SQLModel, table=True):
    """Mail held back from ticketing, with a reason a person can read, until recovered or deleted."""
    __tablename__ = "suspended_mails"
    __table_args__ = (
        # The status counts held-back mail by kind and pages it newest first, from indexes only (0014).
        Index("ix_suspended_mails_state_kind", "state", "kind"),
        Index("ix_suspended_mails_state_received_at_id", "state", "received_at", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    raw_mail_id: int = Field(foreign_key="raw_mails.id", ondelete="CASCADE", unique=True)
    kind: str                                          # auto_reply | bounce | report | own_address | loop | ...
    reason: str = Field(sa_type=Text)
    from_email: str = ""
    subject: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(sa_type=UtcDateTime)
    state: str = Field(default="suspended", index=True)  # suspended | recovered | deleted
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


from connector.store.ticket_models import (  # noqa: E402  (re-export after the base tables)
    Comment, StoredAttachment, Ticket, TicketThread,
)

__all__ = ["Inbox", "Credential", "RawMail", "SuspendedMail",
           "Ticket", "Comment", "TicketThread", "StoredAttachment"]
from connector.store.forwarding_models import ExternalAddress  # noqa: E402,F401  (forwarding, issue 5)
from connector.store import consent_models  # noqa: E402,F401  (credential_grants, service_account_keys)
from connector.store.outbound_models import OutgoingMail  # noqa: E402,F401  (outgoing mail queue, issue 6)
from connector.store import lease_models  # noqa: E402,F401  (inbox_leases, daemons; issue 8)
from connector.store import dns_models  # noqa: E402,F401  (dns_checks: DNS health per domain, issue 7)
from connector.store import helpdesk_models  # noqa: E402,F401  (helpdesk outbox; issue 12)
from connector.store import fetch_failure_models  # noqa: E402,F401  (fetch_failures: reads Gmail refused; issue 16)
from connector.store import push_models  # noqa: E402,F401  (push_watches: Gmail push per inbox; issue 14)
