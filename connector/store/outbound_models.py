"""Database table of the outgoing mail queue: every reply is stored here before it is sent."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow

OUTGOING_STATES = ("queued", "sending", "sent", "failed", "waiting_cap", "private")


class OutgoingMail(SQLModel, table=True):
    """One reply (or private note) on a ticket, with what it takes to send it exactly once."""
    __tablename__ = "outgoing_mails"
    __table_args__ = (
        # The send job asks "what is due now?" on every tick.
        Index("ix_outgoing_mails_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE", index=True)
    inbox_id: Optional[int] = Field(default=None, foreign_key="inboxes.id", ondelete="SET NULL")
    from_address: str                                  # lower-case: the support or external address
    from_name: str = ""
    to_addresses: str = Field(default="", sa_type=Text)  # comma-joined, lower-case
    cc_addresses: str = Field(default="", sa_type=Text)  # comma-joined, lower-case
    subject: str = Field(default="", sa_type=Text)
    body_text: str = Field(default="", sa_type=Text)
    attachments: str = Field(default="[]", sa_type=Text)  # JSON: filename, content_type, size, sha256, path
    private: bool = False                              # a private note: stored as a comment, never sent
    message_id: str = Field(unique=True)               # ours, without angle brackets
    # Who asked for it, once: "rt:txn-812" for an agent's answer in RT, or an API caller's Idempotency-Key.
    source_key: Optional[str] = Field(default=None, unique=True)
    in_reply_to: Optional[str] = None
    references: str = Field(default="", sa_type=Text)  # space-joined, without angle brackets
    gmail_thread_id: Optional[str] = None
    transport: str = ""                                # "" until sent | gmail | smtp
    state: str = "queued"                              # one of OUTGOING_STATES
    attempts: int = 0
    next_attempt_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    last_error: Optional[str] = Field(default=None, sa_type=Text)
    sent_gmail_id: Optional[str] = None
    sent_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
