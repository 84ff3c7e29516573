"""Gmail messages Gmail would not return yet: how often and since when, so one is given up only after an hour."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow


class FetchFailure(SQLModel, table=True):
    __tablename__ = "fetch_failures"
    __table_args__ = (UniqueConstraint("inbox_id", "gmail_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inboxes.id", ondelete="CASCADE")
    gmail_id: str
    attempts: int = 0
    first_failed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_failed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_error: str = Field(default="", sa_type=Text)
