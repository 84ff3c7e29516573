"""`ticket_stored_mail`: the one way a stored raw message becomes a ticket, comment, note, hold-back or forwarding proof.

Every source calls it and nothing else: Gmail sync, the SMTP receiver's worker, the retry of
pending mail, and a person's "recover" (`recover_suspended_mail`). The row is read, the mail is
read within its budget outside any transaction (never under the database's write lock), and the
decision is made and applied in one short write transaction with the row locked; messages
ticketed together (`ticket_stored_mails`) share such transactions (connector/ticketing/settle.py).
"""
from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Iterator, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from connector.mail.decision import Arrival, ForwardingMail, Suspend
from connector.mail.outcome import Outcome, OutcomeKind, skipped
from connector.mail.pipeline import RECOVERY_STEPS, STEPS, decide
from connector.store.addresses import attach_forwarding_mail
from connector.store.context import SqlMailContext
from connector.store.db import session_scope
from connector.store.models import RawMail, SuspendedMail
from connector.store.raw import PendingMail, mark_mail_processed
from connector.store.suspended import leave_suspended
from connector.store.tickets import apply_decision, carry_out
from connector.ticketing.loading import LoadedMail, load, loaded_batches
from connector.ticketing.settle import WriteBatch, settle
from connector.ticketing.ticketing import Ticketing

__all__ = ["Ticketing", "pending_ids", "recover_suspended_mail", "ticket_stored_mail",
           "ticket_stored_mails"]


def ticket_stored_mail(ticketing: Ticketing, raw_id: int) -> Outcome:
    """Ticket one pending stored message; never raises for anything the message contains."""
    [outcome] = ticket_stored_mails(ticketing, [raw_id])
    return outcome


def ticket_stored_mails(ticketing: Ticketing, raw_ids: Sequence[int]) -> Iterator[Outcome]:
    """`ticket_stored_mail` for many messages, in order. With readers in worker processes the next
    messages are read while earlier ones are decided and applied, so reading and the database overlap."""
    work = partial(_decide_and_apply, ticketing=ticketing, suspended_id=None)
    hold_back = partial(_hold_back, ticketing, suspended_id=None)
    for batch in loaded_batches(ticketing, raw_ids):
        settled = iter(settle(ticketing, [loaded for loaded in batch if loaded is not None], work, hold_back))
        for loaded in batch:
            yield (next(settled) if loaded is not None else None) or skipped("already processed")


def recover_suspended_mail(ticketing: Ticketing, suspended_id: int) -> Outcome | None:
    """A person released held-back mail: decide again without the hold-back steps.

    None when nothing is suspended under that id (never was, or already recovered or deleted)."""
    with Session(ticketing._reads) as session:
        held = session.get(SuspendedMail, suspended_id)
        if held is None or held.state != "suspended":
            return None
        raw_id = held.raw_mail_id
    loaded = load(ticketing, raw_id, suspended_id)
    if loaded is None:
        return None
    [outcome] = settle(ticketing, [loaded], partial(_decide_and_apply, ticketing=ticketing, suspended_id=suspended_id),
                       partial(_hold_back, ticketing, suspended_id=suspended_id))
    return outcome


def _decide_and_apply(shared: WriteBatch, loaded: LoadedMail, *, ticketing: Ticketing,
                      suspended_id: int | None) -> Outcome | None:
    session = shared.session
    # Locked (WriteBatch): two daemons' receivers, or a stalled pass overtaken by a new lease holder,
    # must not both ticket the same stored message.
    row = shared.take_row(loaded.raw_id)
    if row is None or (suspended_id is None and row.state != "pending"):
        return None
    if suspended_id is not None and leave_suspended(session, suspended_id, "recovered") is None:
        return None
    mail = loaded.mail
    row = row.described(mail.message_id, mail.from_.email, mail.subject)
    now = ticketing.now()
    if loaded.fetch_error and suspended_id is None:
        outcome = carry_out(session, row, Suspend(reason=loaded.fetch_error, kind="error"),
                            ticketing.attachments_dir, now)
        mark_mail_processed(session.connection(), row, outcome.text, now)
        return outcome
    route = shared.routes.of(row, mail)
    arrival = Arrival(source=row.source, inbox_address=route.inbox_address,
                      received_at_address=route.received_at_address, group=route.group,
                      received_at=row.received_at, gmail_id=row.gmail_id, gmail_thread_id=row.gmail_thread_id,
                      label_ids=tuple(x for x in row.label_ids.split(",") if x),
                      envelope_from=row.envelope_from or "")
    trace = decide(mail, arrival, SqlMailContext(session, shared.support_addresses), now,
                   attachment_max_bytes=ticketing.attachment_max_bytes,
                   steps=STEPS if suspended_id is None else RECOVERY_STEPS)
    if isinstance(trace.decision, ForwardingMail):
        outcome = _attach(session, ticketing, row, trace.decision, now)
    else:
        outcome = carry_out(session, row, trace.decision, ticketing.attachments_dir, now, just_decided=True,
                            outbox=ticketing.outbox)
    mark_mail_processed(session.connection(), row, outcome.text, now)
    return outcome


def _attach(session: Session, ticketing: Ticketing, row: PendingMail, decision: ForwardingMail,
            now: datetime) -> Outcome:
    stored = session.get(RawMail, row.id, options=[defer(RawMail.raw)])
    attached = attach_forwarding_mail(session, stored, decision, now)
    if not attached.attached:
        return carry_out(session, row, Suspend(reason=attached.text, kind="forwarding"), ticketing.attachments_dir, now)
    if attached.text.startswith("skipped:"):
        return Outcome(OutcomeKind.SKIPPED, attached.text)
    return Outcome(OutcomeKind.FORWARDING, attached.text)


def _hold_back(ticketing: Ticketing, loaded: LoadedMail, exc: Exception, suspended_id: int | None) -> Outcome:
    what = "recovered" if suspended_id is not None else "processed"
    reason = f"could not be {what} ({type(exc).__name__}: {str(exc)[:300]}); the raw message is kept"
    with session_scope(ticketing.engine) as session:
        row = session.get(RawMail, loaded.raw_id)
        if row is None:
            return Outcome(OutcomeKind.SKIPPED, "skipped: the stored message is gone")
        if suspended_id is not None:
            leave_suspended(session, suspended_id, "recovered")
        outcome = apply_decision(session, row, Suspend(reason=reason, kind="error"), ticketing.attachments_dir,
                                 ticketing.now())
        row.error = reason
        session.add(row)
        return outcome


def pending_ids(engine: Engine, *, inbox_id: int | None = None, source: str | None = None,
                received_before: datetime | None = None, limit: int | None = None) -> list[int]:
    """Stored mail not yet ticketed (a crash or failure between storing and ticketing), oldest first."""
    query = select(RawMail.id).where(RawMail.state == "pending").order_by(RawMail.id)
    if inbox_id is not None:
        query = query.where(RawMail.inbox_id == inbox_id)
    if source is not None:
        query = query.where(RawMail.source == source)
    if received_before is not None:
        query = query.where(RawMail.received_at < received_before)
    if limit is not None:
        query = query.limit(limit)
    with Session(engine.execution_options(sqlite_deferred=True)) as session:
        return list(session.exec(query))
