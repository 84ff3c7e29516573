"""Status sections beside the inboxes: forwarded addresses (with DNS health), the outgoing queue, sync errors."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select     # rows of a table, not one scalar per row
from sqlmodel import Session, select

from connector.forwarding.states import doubt_requester
from connector.store.addresses import multi_forwarded
from connector.store.dns_health import dns_health_by_domain, domain_of
from connector.store.forwarding_models import ExternalAddress
from connector.store.models import Inbox
from connector.store.outbound_models import OutgoingMail
from connector.store.types import iso_utc

AWAITING_CONFIRMATION = "awaiting_confirmation"
# Mail that still has to leave: everything not yet sent, failed for good, or only a private note.
PENDING_OUTGOING = ("queued", "sending", "waiting_cap")
RECENT_FAILURES = 10


def external_addresses(session: Session) -> list[dict[str, Any]]:
    """Each forwarded address: its state, why it failed, Google's confirmation while pending, its DNS health."""
    # Plain rows, not ORM objects: read-only, and at a hundred addresses the objects cost more than the query.
    rows = session.execute(sa_select(ExternalAddress.__table__).order_by(ExternalAddress.external_address)).all()
    dns = dns_health_by_domain(session) if rows else {}   # one query for every domain, never one per address
    multi = multi_forwarded(session) if rows else {}       # one grouped query, as dns
    return [_external(row, multi.get(row.support_address)) | {"dns": dns.get(domain_of(row.external_address))}
            for row in rows]


def _external(row: Any, multi: tuple[int, Any] | None) -> dict[str, Any]:
    awaiting = row.state == AWAITING_CONFIRMATION
    return {
        "external_address": row.external_address, "support_address": row.support_address,
        "group": row.group, "provider": row.provider, "state": row.state, "failure_reason": row.failure_reason,
        "setup_method": row.setup_method,
        "last_check_at": iso_utc(row.last_check_at), "verified_at": iso_utc(row.verified_at),
        "verification_sent_at": iso_utc(row.verification_sent_at),
        # Shown only while a person has to act on them; afterwards they are history, not instructions.
        "confirmation_code": row.confirmation_code if awaiting else None,
        "confirmation_link": row.confirmation_link if awaiting else None,
        "multi_forward": None if not multi else {"tickets": multi[0], "last_at": iso_utc(multi[1]),
                                                 "reason": doubt_requester(row.external_address, multi[0])},
    }


def outgoing_queue(session: Session, by_state: dict[str, int] | None = None) -> dict[str, Any]:
    """How many replies wait to be sent and how many failed, with every state's count (`by_state`, when
    the caller counted them already)."""
    if by_state is None:
        query = select(OutgoingMail.state, func.count()).group_by(OutgoingMail.state)
        by_state = {state: int(count) for state, count in session.exec(query)}
    # Nothing failed, nothing to list: no query.
    failures = session.exec(select(OutgoingMail).where(OutgoingMail.state == "failed")
                            .order_by(OutgoingMail.updated_at.desc(), OutgoingMail.id.desc())
                            .limit(RECENT_FAILURES)) if by_state.get("failed") else []
    return {"pending": sum(by_state.get(s, 0) for s in PENDING_OUTGOING), "failed": by_state.get("failed", 0),
            "by_state": dict(sorted(by_state.items())), "recent_failures": [_failure(row) for row in failures]}


def _failure(row: OutgoingMail) -> dict[str, Any]:
    return {"id": row.id, "ticket_id": row.ticket_id, "to": row.to_addresses, "subject": row.subject,
            "last_error": row.last_error, "attempts": row.attempts, "updated_at": iso_utc(row.updated_at)}


def sync_errors_by_kind(session: Session) -> dict[str, int]:
    """Inboxes whose latest pass failed, by error kind (the word before the colon of last_error)."""
    query = select(Inbox.last_error).where(Inbox.consecutive_failures > 0, Inbox.last_error.is_not(None))
    counts: dict[str, int] = {}
    for error in session.exec(query):
        kind = error.partition(":")[0].strip() or "unknown"
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))
