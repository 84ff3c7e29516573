"""Tables that let several daemons share one database: a lease per inbox and a heartbeat per daemon."""
from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow


class InboxLease(SQLModel, table=True):
    """Which daemon syncs an inbox, until when; a lease past `expires_at` is free for anyone."""
    __tablename__ = "inbox_leases"

    inbox_id: int = Field(primary_key=True, foreign_key="inboxes.id", ondelete="CASCADE")
    holder: Optional[str] = Field(default=None, index=True)   # daemon id, None when released
    acquired_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    expires_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)


class DaemonBeat(SQLModel, table=True):
    """One row per running daemon; `last_seen` older than the lease TTL means it is gone."""
    __tablename__ = "daemons"

    id: str = Field(primary_key=True)                          # hostname:pid:random
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_seen: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
