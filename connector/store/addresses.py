"""External addresses and their support addresses: adding, finding, and the outgoing-mail gate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from connector.forwarding.states import (AWAITING, FAILED, NOT_CONFIGURED, VERIFIED, doubt_requester, multi_hop,
                                         wrong_support_address)
from connector.mail.decision import ForwardingMail
from connector.store.forwarding_models import ExternalAddress
from connector.store.models import RawMail, Ticket
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


def multi_forwarded(session: Session) -> dict[str, tuple[int, datetime]]:
    """Support address -> (tickets flagged multi_forward, the newest one's time), in one grouped query."""
    query = (select(Ticket.received_at_address, func.count(), func.max(Ticket.created_at))
             .where(Ticket.flags.like("%multi_forward%")).group_by(Ticket.received_at_address))
    return {address: (int(count), newest) for address, count, newest in session.exec(query)}


def address_json(row: ExternalAddress, multi: tuple[int, datetime] | None = None) -> dict:
    """The mapping and its forwarding state, JSON-ready (status commands and the admin page).

    `multi`: this address's entry of multi_forwarded(); with it, why an agent should doubt those requesters."""
    return {
        "external_address": row.external_address, "support_address": row.support_address, "group": row.group,
        "provider": row.provider,
        "state": row.state, "failure_reason": row.failure_reason, "setup_method": row.setup_method,
        "criteria": row.criteria, "disposition": row.disposition, "filter_id": row.filter_id,
        "confirmation_code": row.confirmation_code, "confirmation_link": row.confirmation_link,
        "confirmation_received_at": iso_utc(row.confirmation_received_at),
        "verification_pending": row.verification_token is not None,
        "verification_sent_at": iso_utc(row.verification_sent_at), "verified_at": iso_utc(row.verified_at),
        "last_check_at": iso_utc(row.last_check_at), "outgoing_allowed": row.state == "verified",
        "multi_forward": None if not multi else {"tickets": multi[0], "last_at": iso_utc(multi[1]),
                                                 "reason": doubt_requester(row.external_address, multi[0])},
    }


@dataclass(frozen=True)
class ForwardingAttachment:
    """What the forwarding store did with forwarding mail: attached it, or refused it with a reason
    (the caller then holds the mail back; mail that fits no setup is never dropped)."""
    attached: bool
    text: str


def attach_forwarding_mail(session: Session, raw_mail: RawMail, decision: ForwardingMail,
                           now: datetime | None = None) -> ForwardingAttachment:
    """Attach Google's confirmation or our test mail to its external address, in the caller's transaction."""
    now = now or utcnow()
    if decision.kind == "confirmation":
        return _attach_confirmation(session, raw_mail, decision, now)
    return _record_verification(session, decision, now)


def _attach_confirmation(session: Session, raw_mail: RawMail, decision: ForwardingMail,
                         now: datetime) -> ForwardingAttachment:
    row = find_address(session, decision.received_at_address)
    # Anyone may mail a support address: only a confirmation naming the external address we set up
    # is attached, and one without a requesting address is no proof at all.
    if row is None or not decision.requested_by or decision.requested_by != row.external_address:
        return ForwardingAttachment(False, f"Gmail forwarding confirmation from {decision.requested_by or '(unknown)'} "
                                           f"to {decision.received_at_address}, which no external address expects")
    if not _sent_by_google(raw_mail):
        return ForwardingAttachment(False, f"Gmail forwarding confirmation for {row.external_address} received by "
                                           f"SMTP from {raw_mail.envelope_from or '<>'}, not from a google.com "
                                           "sender; it may be forged")
    touch(row, now, confirmation_code=decision.code, confirmation_link=decision.link,
          confirmation_received_at=now, state=AWAITING if row.state == NOT_CONFIGURED else row.state)
    session.add(row)
    return ForwardingAttachment(True, f"forwarding confirmation for {row.external_address} attached "
                                      f"({decision.code or 'no code'})")


def _sent_by_google(raw_mail: RawMail) -> bool:
    """Whether the confirmation's trace is Google's own.

    Google sends the confirmation itself, straight to the support address (it is not forwarded), so
    its envelope sender (the later Return-Path) is a google.com address; the sandbox does the same.
    Mail written by anyone else and relayed by an ordinary host carries that host's sender and fails.
    This is no signature check: a sender talking SMTP to us directly can still claim google.com, which
    is why the requesting address must match and only Google's links are clickable. Mail synced from
    Gmail passed Gmail's own SPF/DKIM/DMARC checks (google.com publishes p=reject)."""
    if raw_mail.source != "smtp":
        return True
    domain = (raw_mail.envelope_from or "").rpartition("@")[2].strip().rstrip(">").lower()
    return domain == "google.com" or domain.endswith(".google.com")


def _record_verification(session: Session, decision: ForwardingMail, now: datetime) -> ForwardingAttachment:
    row = session.exec(select(ExternalAddress).where(ExternalAddress.verification_token == decision.token)).first()
    if row is None:
        # A second copy of a test mail already counted, or a stale one: nothing to hold back for a person.
        return ForwardingAttachment(True, "skipped: forwarding test mail with an unknown or already used token")
    arrived = decision.received_at_address.lower()
    if arrived != row.support_address:
        reason = wrong_support_address(row.external_address, row.support_address, arrived, row.provider)
    elif decision.hops > 1:
        reason = multi_hop(row.external_address, row.support_address, decision.hops)
    else:
        reason = None
    touch(row, now, verification_token=None, last_check_at=now, state=FAILED if reason else VERIFIED,
          failure_reason=reason, **({} if reason else {"verified_at": now}))
    session.add(row)
    return ForwardingAttachment(True, f"forwarding of {row.external_address} "
                                      + (f"failed: {reason}" if reason else "verified"))
