"""The helpdesk outbox in the store: events queued with the ticket change, claimed, delivered or parked.

Events of one ticket are delivered in order: only a ticket's oldest undelivered event (its head)
is ever due, so a comment never overtakes its ticket's creation and a parked event holds back
what came after it. A claim is a short lease (`claimed_until`): a deliverer that dies mid-send
leaves the event to be claimed again, and `attempts > 0` then makes the next deliverer look the
event up in the helpdesk before sending it again.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from connector.store.helpdesk_models import HelpdeskEvent, HelpdeskTicket, Installation

CLAIM_SECONDS = 120


def queue_events(connection: Connection, ticket_id: int, events: Iterable[tuple[str, int | None]],
                 now: datetime) -> None:
    """In the caller's transaction, beside the ticket change they announce."""
    rows = [dict(ticket_id=ticket_id, comment_id=comment_id, kind=kind, state="queued", attempts=0,
                 destination="", created_at=now) for kind, comment_id in events]
    if rows:
        connection.execute(insert(HelpdeskEvent), rows)


def installation_key(session: Session) -> str:
    """This installation's random key (made by the migration; made here if the row was lost)."""
    row = session.get(Installation, 1)
    if row is None:
        row = Installation(id=1, key=secrets.token_hex(4))
        session.add(row)
        session.flush()
    return row.key


_UNDELIVERED_HEADS = (select(func.min(HelpdeskEvent.id))
                      .where(HelpdeskEvent.state != "delivered").group_by(HelpdeskEvent.ticket_id))


def _due(now: datetime):
    return or_(and_(HelpdeskEvent.state == "queued",
                    or_(HelpdeskEvent.next_attempt_at.is_(None), HelpdeskEvent.next_attempt_at <= now)),
               and_(HelpdeskEvent.state == "delivering", HelpdeskEvent.claimed_until < now))


def due_events(session: Session, now: datetime, limit: int) -> list[HelpdeskEvent]:
    """The heads of their tickets that are due now, oldest first."""
    query = (select(HelpdeskEvent).where(HelpdeskEvent.id.in_(_UNDELIVERED_HEADS), _due(now))
             .order_by(HelpdeskEvent.id).limit(limit))
    return list(session.scalars(query))


def next_due_of_ticket(session: Session, ticket_id: int, now: datetime) -> HelpdeskEvent | None:
    """The ticket's new head after its previous head was delivered, if it is due."""
    head = session.scalar(select(func.min(HelpdeskEvent.id)).where(
        HelpdeskEvent.ticket_id == ticket_id, HelpdeskEvent.state != "delivered"))
    if head is None:
        return None
    return session.scalar(select(HelpdeskEvent).where(HelpdeskEvent.id == head, _due(now)))


def claim(session: Session, event_id: int, now: datetime, claimer: str = "") -> int | None:
    """Take the event for delivery; the attempts made before this one, or None when someone else has it."""
    taken = session.execute(
        update(HelpdeskEvent).where(HelpdeskEvent.id == event_id, _due(now))
        .values(state="delivering", claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=claimer,
                attempts=HelpdeskEvent.attempts + 1)
        .returning(HelpdeskEvent.attempts)).scalar()
    return None if taken is None else taken - 1


def release_dead_claims(session: Session, now: datetime, is_dead: Callable[[str], bool]) -> int:
    """Claims still running whose process is known dead (killed on this host) are due again now,
    not CLAIM_SECONDS later; their next deliverer looks the event up before sending. Returns how many."""
    held = session.execute(select(HelpdeskEvent.id, HelpdeskEvent.claimed_by).where(
        HelpdeskEvent.state == "delivering", HelpdeskEvent.claimed_until >= now)).all()
    dead = [event_id for event_id, claimer in held if claimer and is_dead(claimer)]
    if dead:
        session.execute(update(HelpdeskEvent).where(HelpdeskEvent.id.in_(dead), HelpdeskEvent.state == "delivering")
                        .values(claimed_until=now - timedelta(seconds=1)))
    return len(dead)


def mark_delivered(session: Session, event_id: int, destination: str, remote_id: str | None, now: datetime) -> None:
    session.execute(update(HelpdeskEvent).where(HelpdeskEvent.id == event_id).values(
        state="delivered", destination=destination, remote_id=remote_id, delivered_at=now, claimed_until=None,
        last_error=None, next_attempt_at=None))


def mark_waiting(session: Session, event_id: int, error: str, next_attempt_at: datetime) -> None:
    """A transient failure: queued again for later, the reason kept for the status page."""
    session.execute(update(HelpdeskEvent).where(HelpdeskEvent.id == event_id).values(
        state="queued", last_error=error[:1000], next_attempt_at=next_attempt_at, claimed_until=None))


def park(session: Session, event_id: int, error: str) -> None:
    """A permanent refusal: held until a person retries it (`helpdesk retry ID`)."""
    session.execute(update(HelpdeskEvent).where(HelpdeskEvent.id == event_id).values(
        state="failed", last_error=error[:1000], claimed_until=None, next_attempt_at=None))


def retry_event(session: Session, event_id: int) -> HelpdeskEvent | None:
    """A person asked to send a parked (or waiting) event again now. None when no such undelivered event."""
    event = session.get(HelpdeskEvent, event_id)
    if event is None or event.state == "delivered":
        return None
    event.state, event.next_attempt_at, event.claimed_until = "queued", None, None
    session.add(event)
    return event


def helpdesk_ticket(session: Session, destination: str, ticket_id: int) -> HelpdeskTicket | None:
    return session.scalar(select(HelpdeskTicket).where(HelpdeskTicket.destination == destination,
                                                        HelpdeskTicket.ticket_id == ticket_id))


def link_ticket(session: Session, destination: str, ticket_id: int, remote_id: str, url: str | None,
                now: datetime) -> None:
    """Remember the helpdesk's ticket; a link made earlier (or concurrently) is kept."""
    dialect_insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[session.get_bind().dialect.name]
    session.execute(dialect_insert(HelpdeskTicket).values(
        ticket_id=ticket_id, destination=destination, remote_id=remote_id, url=url, created_at=now,
    ).on_conflict_do_nothing(index_elements=["destination", "ticket_id"]))


def relink_ticket(session: Session, destination: str, ticket_id: int, remote_id: str, url: str | None,
                  now: datetime) -> None:
    """Our ticket continues on another helpdesk ticket (a follow-up of a closed one); answers count from now."""
    session.execute(update(HelpdeskTicket).where(HelpdeskTicket.destination == destination,
                                                 HelpdeskTicket.ticket_id == ticket_id)
                    .values(remote_id=remote_id, url=url, created_at=now, replies_wanted_at=None))


@dataclass(frozen=True)
class OutboxSummary:
    queued: int
    delivering: int
    failed: int
    delivered_24h: int
    oldest_waiting_at: datetime | None
    last_error: str | None


def outbox_summary(session: Session, now: datetime) -> OutboxSummary:
    counts = dict(session.execute(select(HelpdeskEvent.state, func.count()).where(
        HelpdeskEvent.state != "delivered").group_by(HelpdeskEvent.state)).all())
    delivered = session.scalar(select(func.count()).select_from(HelpdeskEvent).where(
        HelpdeskEvent.state == "delivered", HelpdeskEvent.delivered_at >= now - timedelta(hours=24)))
    oldest = session.scalar(select(func.min(HelpdeskEvent.created_at)).where(HelpdeskEvent.state != "delivered"))
    last_error = session.scalar(select(HelpdeskEvent.last_error).where(
        HelpdeskEvent.state != "delivered", HelpdeskEvent.last_error.is_not(None)).order_by(HelpdeskEvent.id.desc())
        .limit(1))
    return OutboxSummary(queued=counts.get("queued", 0), delivering=counts.get("delivering", 0),
                         failed=counts.get("failed", 0), delivered_24h=delivered or 0,
                         oldest_waiting_at=oldest, last_error=last_error)


def parked_events(session: Session, limit: int = 100) -> list[HelpdeskEvent]:
    return list(session.scalars(select(HelpdeskEvent).where(HelpdeskEvent.state == "failed")
                                .order_by(HelpdeskEvent.id).limit(limit)))
