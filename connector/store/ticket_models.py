"""Database tables for tickets, their comments, attachments and Gmail thread mappings."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        # The status counts tickets by status and pages them newest first, per status or inbox (0014).
        Index("ix_tickets_status_id", "status", "id"),
        Index("ix_tickets_inbox_id_id", "inbox_id", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    subject: str = Field(default="", sa_type=Text)
    status: str = "new"                                # new | open | pending | solved
    requester_name: str = ""
    requester_email: str = Field(default="", index=True)   # lower-case
    group: str = "Support"
    inbox_id: Optional[int] = Field(default=None, foreign_key="inboxes.id", ondelete="SET NULL")
    received_at_address: str = ""
    flags: str = ""                                    # comma-joined: bulk, multi_forward, ...
    gmail_thread_id: Optional[str] = None              # the thread that created it
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Comment(SQLModel, table=True):
    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("ticket_id", "message_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE", index=True)
    raw_mail_id: Optional[int] = Field(default=None, foreign_key="raw_mails.id", ondelete="SET NULL")
    author_name: str = ""
    author_email: str = ""                             # lower-case
    body_text: str = Field(default="", sa_type=Text)
    body_html: Optional[str] = Field(default=None, sa_type=Text)
    public: bool = True
    message_id: str = Field(index=True)                # finds the ticket a reply belongs to
    direction: str = "inbound"                         # inbound | outbound
    notes: str = Field(default="", sa_type=Text)       # one note per line
    cc_addresses: str = Field(default="", sa_type=Text)  # comma-joined, lower-case: the mail's Cc'd customers
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TicketThread(SQLModel, table=True):
    """A Gmail thread in one inbox that feeds a ticket; one ticket may span several inboxes."""
    __tablename__ = "ticket_threads"
    __table_args__ = (UniqueConstraint("inbox_id", "gmail_thread_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE", index=True)
    inbox_id: int = Field(foreign_key="inboxes.id", ondelete="CASCADE")
    gmail_thread_id: str


class StoredAttachment(SQLModel, table=True):
    __tablename__ = "stored_attachments"

    id: Optional[int] = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="comments.id", ondelete="CASCADE", index=True)
    filename: str = ""
    content_type: str = "application/octet-stream"
    size: int = 0
    sha256: str = Field(index=True)
    content_id: Optional[str] = None
    inline: bool = False
    path: str                                          # relative to DATA_DIR/attachments
