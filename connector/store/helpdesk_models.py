"""Database tables of the helpdesk outbox: events to deliver, and which helpdesk ticket each ticket became."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow

EVENT_KINDS = ("ticket.created", "comment.added", "note.added", "ticket.reopened")
EVENT_STATES = ("queued", "delivering", "delivered", "failed")


class HelpdeskEvent(SQLModel, table=True):
    """One ticket change the helpdesk must hear of, written in the transaction that made the change."""
    __tablename__ = "helpdesk_events"
    __table_args__ = (
        # The delivery job asks "which events are due?" on every tick.
        Index("ix_helpdesk_events_state_next_attempt_at", "state", "next_attempt_at"),
        # ... and "what is the oldest undelivered event of this ticket?".
        Index("ix_helpdesk_events_ticket_id_state", "ticket_id", "state"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE")
    comment_id: Optional[int] = Field(default=None, foreign_key="comments.id", ondelete="SET NULL")
    kind: str                                          # one of EVENT_KINDS
    state: str = "queued"                              # one of EVENT_STATES
    attempts: int = 0                                  # sends started; > 0 means "look it up before sending"
    next_attempt_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    claimed_until: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)  # a deliverer is at it
    claimed_by: Optional[str] = None                   # which process (host:pid:token), to free a dead one's claims
    last_error: Optional[str] = Field(default=None, sa_type=Text)
    destination: str = ""                              # the HELPDESK that took it
    remote_id: Optional[str] = None                    # what the helpdesk made of it (transaction, article...)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    delivered_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)


class HelpdeskTicket(SQLModel, table=True):
    """Our ticket's counterpart in one helpdesk: follow-ups go to the same helpdesk ticket."""
    __tablename__ = "helpdesk_tickets"
    __table_args__ = (
        UniqueConstraint("destination", "ticket_id"),
        # Agents' replies arrive with the helpdesk's id and must find our ticket.
        Index("ix_helpdesk_tickets_destination_remote_id", "destination", "remote_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE")
    destination: str
    remote_id: str
    url: Optional[str] = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # Set when the helpdesk's webhook says agents wrote on it; the replies job reads them and clears it.
    replies_wanted_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime, index=True)


class HelpdeskCursor(SQLModel, table=True):
    """How far agents' answers have been read from a helpdesk (its own opaque position)."""
    __tablename__ = "helpdesk_cursors"

    destination: str = Field(primary_key=True)
    cursor: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Installation(SQLModel, table=True):
    """One row: this installation's random key, so two connectors feeding one helpdesk never share keys."""
    __tablename__ = "installation"

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
