"""Gmail push per inbox: its users.watch (expiry, last refusal) and what notifications asked for."""
from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow


class PushWatch(SQLModel, table=True):
    """One row per inbox the daemon watches (or tried to). No row: push never set up for it.

    `wanted_history_id` is the highest history id a notification reported: the inbox's lease holder
    syncs it while the cursor is below, whichever daemon pulled the notification.
    """
    __tablename__ = "push_watches"

    id: Optional[int] = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inboxes.id", ondelete="CASCADE", unique=True)
    topic: str = ""
    expiration: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)   # None: no working watch
    renewed_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    error: Optional[str] = Field(default=None, sa_type=Text)                     # why watch was refused
    error_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    refused: bool = False                # the error is Gmail refusing the topic (needs the admin)
    wanted_history_id: Optional[int] = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_notification_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    notifications: int = 0
    recovered_by_poll: int = 0           # messages the safety-net poll found that no notification announced
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
