"""Tables for consent: the scopes each inbox's grant holds, and service-account keys per domain."""
from datetime import datetime
from typing import Optional

from sqlalchemy import LargeBinary, Text
from sqlmodel import Field, SQLModel

from connector.store.types import UtcDateTime, utcnow


class CredentialGrant(SQLModel, table=True):
    """What a person (or an admin, for delegation) allowed: readable without decrypting anything."""
    __tablename__ = "credential_grants"

    id: Optional[int] = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inboxes.id", ondelete="CASCADE", unique=True)
    scopes: str = Field(default="", sa_type=Text)        # space-separated, as Google reports them
    account: str = ""                                    # the address that consented (checked by getProfile)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ServiceAccountKey(SQLModel, table=True):
    """A Workspace service-account key (sealed) that impersonates any mailbox of one domain."""
    __tablename__ = "service_account_keys"

    id: Optional[int] = Field(default=None, primary_key=True)
    domain: str = Field(unique=True)                     # lower-case
    client_email: str = ""                               # not secret: shown so admins can find it
    client_id: str = ""                                  # what domain-wide delegation is granted to
    key_id: str = ""                                     # private_key_id, to tell rotated keys apart
    secret_ciphertext: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
