"""Database table of the latest SPF / DKIM / DMARC check of each external domain (admin DNS health)."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime

DNS_OVERALL = ("ok", "warn", "fail")


class DnsCheck(SQLModel, table=True):
    """Only the newest check per domain is kept: the dashboard asks "is it right now?", not its history."""
    __tablename__ = "dns_checks"

    id: Optional[int] = Field(default=None, primary_key=True)
    domain: str = Field(unique=True)                     # lower-case, no trailing dot
    checked_at: datetime = Field(sa_type=UtcDateTime)
    overall: str                                         # ok | warn | fail (see DNS_OVERALL)
    findings: str = Field(default="{}", sa_type=Text)    # JSON: {"spf": {status, ok, detail, fix}, ...}
    error: Optional[str] = Field(default=None, sa_type=Text)  # the lookup itself failed (timeout, refused)
