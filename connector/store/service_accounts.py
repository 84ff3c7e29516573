"""Service-account keys per Workspace domain, stored sealed; and the sealed grant of each inbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

from connector.store.consent_models import CredentialGrant, ServiceAccountKey
from connector.store.models import Credential, Inbox
from connector.store.types import utcnow


def domain_of(address: str) -> str:
    return address.strip().lower().rpartition("@")[2]


def save_service_account_key(session: Session, domain: str, ciphertext: bytes, *, client_email: str,
                             client_id: str, key_id: str, now: datetime | None = None) -> bool:
    """Store or rotate the domain's key; True when a key for that domain was replaced."""
    now = now or utcnow()
    row = service_account_key(session, domain)
    replaced = row is not None
    if row is None:
        row = ServiceAccountKey(domain=domain.strip().lower(), secret_ciphertext=ciphertext, created_at=now)
    row.secret_ciphertext, row.client_email, row.client_id, row.key_id = ciphertext, client_email, client_id, key_id
    row.updated_at = now
    session.add(row)
    return replaced


def service_account_key(session: Session, domain: str) -> ServiceAccountKey | None:
    return session.exec(select(ServiceAccountKey).where(ServiceAccountKey.domain == domain.strip().lower())).first()


def service_account_keys(session: Session) -> list[ServiceAccountKey]:
    return list(session.exec(select(ServiceAccountKey).order_by(ServiceAccountKey.domain)))


def stored_credential(session: Session, inbox: Inbox) -> Credential | None:
    return session.exec(select(Credential).where(Credential.inbox_id == inbox.id)).first()


def grant_of(session: Session, inbox: Inbox) -> CredentialGrant | None:
    return session.exec(select(CredentialGrant).where(CredentialGrant.inbox_id == inbox.id)).first()


def replace_grant(session: Session, inbox: Inbox, kind: str, ciphertext: bytes | None, scopes: list[str] | tuple,
                  account: str = "", now: datetime | None = None) -> None:
    """The inbox's sealed secret (None: it borrows its domain's key) and what it was granted."""
    now = now or utcnow()
    credential = stored_credential(session, inbox)
    if ciphertext is None:
        if credential is not None:
            session.delete(credential)
    elif credential is None:
        session.add(Credential(inbox_id=inbox.id, kind=kind, secret_ciphertext=ciphertext, created_at=now,
                               updated_at=now))
    else:
        credential.kind, credential.secret_ciphertext, credential.updated_at = kind, ciphertext, now
        session.add(credential)
    grant = grant_of(session, inbox) or CredentialGrant(inbox_id=inbox.id)
    grant.scopes, grant.account, grant.granted_at = " ".join(scopes), account.lower(), now
    session.add(grant)
    inbox.credential_kind, inbox.updated_at = kind, now
    session.add(inbox)


def forget_grant(session: Session, inbox: Inbox) -> None:
    """Drop the inbox's sealed secret and its scopes (after a revoke); the inbox itself stays."""
    session.exec(delete(Credential).where(Credential.inbox_id == inbox.id))
    session.exec(delete(CredentialGrant).where(CredentialGrant.inbox_id == inbox.id))
