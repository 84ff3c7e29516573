"""Database table for external addresses forwarded (by Gmail or any other provider) to the helpdesk's support addresses."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow


class ExternalAddress(SQLModel, table=True):
    """One external address (facturation@masociete.com) and its 1:1 support address on the helpdesk.

    `state` follows connector/forwarding/states.py: not_configured | awaiting_confirmation |
    forwarding_active | verified | failed (then `failure_reason` says why and what to check).
    """
    __tablename__ = "external_addresses"

    id: Optional[int] = Field(default=None, primary_key=True)
    external_address: str = Field(unique=True)          # lower-case; any mail provider's address
    support_address: str = Field(unique=True)           # lower-case; received by the SMTP receiver
    group: str = "Support"
    state: str = "not_configured"
    failure_reason: Optional[str] = Field(default=None, sa_type=Text)
    # gmail: its forwarding is set up and checked through a settings-only Gmail grant (Inbox.mode
    # "forwarding"); other: the admin forwards it at the provider, only the test mail proves it (0015).
    provider: str = "gmail"                             # gmail | other
    setup_method: Optional[str] = None                  # service_account | guided | provider
    criteria: str = Field(default="", sa_type=Text)     # Gmail search query; "" means to:EXTERNAL
    disposition: str = "leaveInInbox"                   # leaveInInbox | archive | markRead
    filter_id: Optional[str] = None
    confirmation_code: Optional[str] = None             # from Google's confirmation mail (may lack one)
    confirmation_link: Optional[str] = Field(default=None, sa_type=Text)
    confirmation_received_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    verification_token: Optional[str] = None            # of the test mail still expected
    verification_sent_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    verified_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    last_check_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    retry_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)   # Gmail's forwarding-rules limit
    rule_refusals: int = 0                              # refusals by that limit in a row
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
