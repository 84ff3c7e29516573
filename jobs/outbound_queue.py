"""The send job's bookkeeping: which replies are due, claiming one, and recording how it went."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connector.outbound.caps import SEND_CAP_WINDOW, daily_send_cap
from connector.outbound.compose import Reply
from connector.store.db import session_scope
from connector.store.models import Inbox, Ticket, TicketThread
from connector.store.outbound import add_outbound_comment, load_attachments, reply_of
from connector.store.outbound_models import OutgoingMail

DUE_STATES = ("queued", "sending", "waiting_cap")
# A claim lasts this long: a reply left "sending" by a crashed process is taken up again after it.
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Claimed:
    """One reply taken for sending, with everything needed outside the transaction."""
    id: int
    inbox_id: int | None
    inbox_address: str | None          # the Gmail mailbox to send through, if any
    sender_is_inbox: bool              # From is that mailbox itself (not an alias or external address)
    from_address: str
    recipients: tuple[str, ...]
    message_id: str
    thread_id: str | None
    maybe_sent: bool                   # an earlier attempt may have reached the outside world
    reply: Reply
    # The previous attempt never recorded how it ended: the process stopped while the reply was out.
    interrupted: bool = False


def due_ids(engine: Engine, now: datetime, limit: int = 100) -> list[int]:
    with session_scope(engine) as session:
        query = (select(OutgoingMail.id)
                 .where(OutgoingMail.state.in_(DUE_STATES), OutgoingMail.next_attempt_at <= now)
                 .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(limit))
        return list(session.exec(query))


def claim(engine: Engine, outgoing_id: int, now: datetime, attachments_dir: Path) -> Claimed | None:
    """Mark the reply "sending" and commit before any sending, so a crash leaves a trace."""
    with session_scope(engine) as session:
        query = select(OutgoingMail).where(OutgoingMail.id == outgoing_id).with_for_update(skip_locked=True)
        row = session.exec(query).first()
        if row is None or row.state not in DUE_STATES or row.next_attempt_at is None or row.next_attempt_at > now:
            return None
        maybe_sent, interrupted = row.attempts > 0, row.state == "sending"
        row.state, row.attempts, row.next_attempt_at, row.updated_at = "sending", row.attempts + 1, now + LEASE, now
        session.add(row)
        inbox = session.get(Inbox, row.inbox_id) if row.inbox_id is not None else None
        if inbox is not None and inbox.mode == "forwarding":
            inbox = None        # a forwarded address's grant holds no sending scope: its replies take the relay
        recipients = tuple(a for a in (row.to_addresses + "," + row.cc_addresses).split(",") if a)
        reply = reply_of(row, load_attachments(row, attachments_dir))
        return Claimed(row.id, row.inbox_id, inbox.address if inbox else None,
                       inbox is not None and inbox.address == row.from_address, row.from_address, recipients,
                       row.message_id, row.gmail_thread_id, maybe_sent, reply, interrupted)


def record_sent(engine: Engine, outgoing_id: int, now: datetime, transport: str, gmail_id: str | None = None,
                thread_id: str | None = None) -> None:
    """Sent: the outbound comment (our Message-ID) goes on the ticket, which now waits for the customer."""
    with session_scope(engine) as session:
        row = session.get(OutgoingMail, outgoing_id)
        if row is None or row.state == "sent":
            return
        row.state, row.transport, row.sent_gmail_id, row.sent_at = "sent", transport, gmail_id, now
        row.last_error, row.next_attempt_at, row.updated_at = None, None, now
        session.add(row)
        add_outbound_comment(session, row, public=True, now=now)
        ticket = session.get(Ticket, row.ticket_id)
        if ticket is not None:
            ticket.status, ticket.updated_at = "pending", now
            session.add(ticket)
        if thread_id and row.inbox_id is not None:
            _map_thread(session, row.ticket_id, row.inbox_id, thread_id)


def _map_thread(session: Session, ticket_id: int, inbox_id: int, thread_id: str) -> None:
    # Gmail may have started a new thread for the reply; answers in it must still find the ticket.
    known = select(TicketThread.id).where(TicketThread.inbox_id == inbox_id, TicketThread.gmail_thread_id == thread_id)
    if session.exec(known).first() is None:
        try:
            with session.begin_nested():
                session.add(TicketThread(ticket_id=ticket_id, inbox_id=inbox_id, gmail_thread_id=thread_id))
        except IntegrityError:
            pass


def record_retry(engine: Engine, outgoing_id: int, now: datetime, error: str, retry_after: float | None = None,
                 rng: Callable[[], float] = random.random) -> str:
    """Back off exponentially (never sooner than Retry-After); give up after MAX_ATTEMPTS."""
    with session_scope(engine) as session:
        row = session.get(OutgoingMail, outgoing_id)
        if row.attempts >= MAX_ATTEMPTS:
            _settle(row, "failed", now, f"{error} (gave up after {row.attempts} attempts)", None)
        else:
            delay = min(FIRST_RETRY * (2 ** (row.attempts - 1)), MAX_RETRY) * (0.5 + rng() / 2)
            delay = max(delay, timedelta(seconds=retry_after or 0))
            _settle(row, "queued", now, error, now + delay)
        session.add(row)
        return row.state


def record_failed(engine: Engine, outgoing_id: int, now: datetime, error: str) -> None:
    with session_scope(engine) as session:
        row = session.get(OutgoingMail, outgoing_id)
        _settle(row, "failed", now, error, None)
        session.add(row)


def record_waiting_cap(engine: Engine, outgoing_id: int, now: datetime, error: str, until: datetime) -> None:
    """Gmail's daily cap: not a failure, the reply goes out once the mailbox may send again."""
    with session_scope(engine) as session:
        row = session.get(OutgoingMail, outgoing_id)
        # The attempt never reached the customer; it must not eat into the retry budget.
        row.attempts = max(row.attempts - 1, 0)
        _settle(row, "waiting_cap", now, error, until)
        session.add(row)


def _settle(row: OutgoingMail, state: str, now: datetime, error: str, next_attempt_at: datetime | None) -> None:
    row.state, row.last_error, row.next_attempt_at, row.updated_at = state, error[:2000], next_attempt_at, now


def cap_reached_until(engine: Engine, inbox_id: int, address: str, now: datetime) -> datetime | None:
    """When this mailbox may send again, if our own count (or a reply already waiting) says it is capped."""
    with session_scope(engine) as session:
        waiting = session.exec(select(func.max(OutgoingMail.next_attempt_at)).where(
            OutgoingMail.inbox_id == inbox_id, OutgoingMail.state == "waiting_cap",
            OutgoingMail.next_attempt_at > now)).one()
        if waiting is not None:
            return waiting
        since = now - SEND_CAP_WINDOW
        sent = session.exec(select(OutgoingMail.sent_at).where(
            OutgoingMail.inbox_id == inbox_id, OutgoingMail.transport == "gmail", OutgoingMail.sent_at > since)
            .order_by(OutgoingMail.sent_at)).all()
        if len(sent) < daily_send_cap(address):
            return None
        return sent[len(sent) - daily_send_cap(address)] + SEND_CAP_WINDOW
