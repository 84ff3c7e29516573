"""External addresses and their support addresses: adding, finding, and the outgoing-mail gate."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from connector.store.forwarding_models import ExternalAddress
from connector.store.types import iso_utc, utcnow


class AddressExists(ValueError):
    """The external or the support address is already mapped (the mapping is 1:1)."""


def add_external_address(session: Session, external: str, support: str, group: str,
                         now: datetime | None = None) -> ExternalAddress:
    external, support = external.strip().lower(), support.strip().lower()
    for address in (external, support):
        if "@" not in address:
            raise ValueError(f"{address!r} is not an email address")
    if external == support:
        raise ValueError("the support address must differ from the external address")
    if find_address(session, external) or find_address(session, support):
        raise AddressExists(f"{external} or {support} is already mapped")
    now = now or utcnow()
    row = ExternalAddress(external_address=external, support_address=support, group=group,
                          created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def find_address(session: Session, address: str) -> ExternalAddress | None:
    """The mapping in which `address` is either the external or the support address."""
    wanted = address.strip().lower()
    query = select(ExternalAddress).where((ExternalAddress.external_address == wanted)
                                          | (ExternalAddress.support_address == wanted))
    return session.exec(query).first()


def get_external(session: Session, external: str) -> ExternalAddress | None:
    query = select(ExternalAddress).where(ExternalAddress.external_address == external.strip().lower())
    return session.exec(query).first()


def list_addresses(session: Session, states: tuple[str, ...] = ()) -> list[ExternalAddress]:
    query = select(ExternalAddress).order_by(ExternalAddress.external_address)
    if states:
        query = query.where(ExternalAddress.state.in_(states))
    return list(session.exec(query))


def support_routes(session: Session) -> dict[str, str]:
    """Support address -> group, for the SMTP receiver's RCPT check and routing."""
    rows = session.exec(select(ExternalAddress.support_address, ExternalAddress.group))
    return {address: group for address, group in rows}


def remove_external(session: Session, external: str) -> bool:
    row = get_external(session, external)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def is_verified(session: Session, address: str) -> bool:
    """May mail go out from this external address? Only once its forwarding was verified."""
    row = find_address(session, address)
    return row is not None and row.state == "verified"


def outgoing_refusal(session: Session, address: str) -> str | None:
    """Why outgoing mail from `address` is refused, in words for the agent; None when it may go."""
    row = find_address(session, address)
    if row is None:
        return f"{address} is not a configured external address (gmail-connector addresses add)"
    if row.state == "verified":
        return None
    why = f" ({row.failure_reason})" if row.failure_reason else ""
    return (f"outgoing mail from {row.external_address} is held until its forwarding is verified: state "
            f"{row.state}{why}; run gmail-connector forwarding verify {row.external_address}")


def touch(row: ExternalAddress, now: datetime | None = None, **changes) -> None:
    """Change fields of a mapping and its updated_at together."""
    for name, value in changes.items():
        if not hasattr(row, name):
            raise AttributeError(name)
        setattr(row, name, value)
    row.updated_at = now or utcnow()


def address_json(row: ExternalAddress) -> dict:
    """The mapping and its forwarding state, JSON-ready (status commands and the admin page)."""
    return {
        "external_address": row.external_address, "support_address": row.support_address, "group": row.group,
        "state": row.state, "failure_reason": row.failure_reason, "setup_method": row.setup_method,
        "criteria": row.criteria, "disposition": row.disposition, "filter_id": row.filter_id,
        "confirmation_code": row.confirmation_code, "confirmation_link": row.confirmation_link,
        "confirmation_received_at": iso_utc(row.confirmation_received_at),
        "verification_pending": row.verification_token is not None,
        "verification_sent_at": iso_utc(row.verification_sent_at), "verified_at": iso_utc(row.verified_at),
        "last_check_at": iso_utc(row.last_check_at), "outgoing_allowed": row.state == "verified",
    }
