"""Listing, recovering and deleting held-back mail."""
from __future__ import annotations

from sqlmodel import Session, select

from connector.store.models import RawMail, SuspendedMail
from connector.store.types import iso_utc

SUSPENDED_STATES = ("suspended", "recovered", "deleted")


def suspended_rows(session: Session, state: str = "suspended") -> list[dict]:
    """Held-back mail in `state`, newest first, as JSON-ready dicts."""
    if state not in SUSPENDED_STATES:
        raise ValueError(f"state must be one of {', '.join(SUSPENDED_STATES)}, not {state!r}")
    rows = session.exec(select(SuspendedMail).where(SuspendedMail.state == state)
                        .order_by(SuspendedMail.received_at.desc(), SuspendedMail.id.desc()))
    return [{"id": row.id, "reason": row.reason, "kind": row.kind, "from": row.from_email,
             "subject": row.subject, "received_at": iso_utc(row.received_at)} for row in rows]


def recover_suspended(session: Session, suspended_id: int) -> RawMail | None:
    """Mark held-back mail recovered and return its raw mail for the caller to re-process.

    Re-processing (with the pipeline's hold-back rules bypassed) is the sync layer's job;
    None when there is no such suspended mail, or it was already recovered or deleted.
    """
    row = leave_suspended(session, suspended_id, "recovered")
    return None if row is None else session.get(RawMail, row.raw_mail_id)


def delete_suspended(session: Session, suspended_id: int) -> bool:
    """Dismiss held-back mail. The raw bytes stay stored: bad mail is preserved, only hidden."""
    return leave_suspended(session, suspended_id, "deleted") is not None


def leave_suspended(session: Session, suspended_id: int, state: str) -> SuspendedMail | None:
    """Moves still-suspended mail to `state`; None when there is no such mail or it has already left."""
    row = session.get(SuspendedMail, suspended_id)
    if row is None or row.state != "suspended":
        return None
    row.state = state
    session.add(row)
    session.flush()
    return row
