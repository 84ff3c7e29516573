"""`ticket_stored_mail`: the one way a stored raw message becomes a ticket, comment, note, hold-back or forwarding proof.

Every source calls it and nothing else: Gmail sync, the SMTP receiver's worker, the retry of
pending mail, and a person's "recover" (`recover_suspended_mail`). The row is read, the mail is
read within its budget outside any transaction (never under the database's write lock), and the
decision is made and applied in one short write transaction with the row locked.
"""
from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from connector.mail.decision import Arrival, ForwardingMail, Suspend
from connector.mail.fallback import fallback_mail
from connector.mail.model import ParsedMail
from connector.mail.outcome import Outcome, OutcomeKind, skipped
from connector.mail.pipeline import RECOVERY_STEPS, STEPS, decide
from connector.store.addresses import attach_forwarding_mail
from connector.store.attachment_files import write_attachment
from connector.store.context import SqlMailContext
from connector.store.db import session_scope
from connector.store.models import RawMail, SuspendedMail
from connector.store.raw import mark_processed
from connector.store.suspended import leave_suspended
from connector.store.tickets import apply_decision
from connector.store.types import utcnow
from connector.ticketing.reader import MailReader, Unreadable
from connector.ticketing.route import route_of

log = logging.getLogger(__name__)
# Kinds whose attachments are written before the transaction: the mail most likely becomes a ticket.
_PREWRITTEN_KINDS = frozenset({"normal", "bulk"})


@dataclass(frozen=True)
class Ticketing:
    """The collaborators of ticketing, built once by the composition root and handed to every source."""
    engine: Engine
    reader: MailReader
    attachments_dir: Path
    attachment_max_bytes: int
    now: Callable[[], datetime] = utcnow
    # Messages read ahead while one is applied: the readers' worker processes, 0 when reading in-process.
    read_ahead: int = 0
    _reads: Engine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Reads of the row must not take SQLite's write lock (BEGIN IMMEDIATE) while mail is read.
        object.__setattr__(self, "_reads", self.engine.execution_options(sqlite_deferred=True))


def ticket_stored_mail(ticketing: Ticketing, raw_id: int) -> Outcome:
    """Ticket one pending stored message; never raises for anything the message contains."""
    loaded = _load(ticketing, raw_id, suspended_id=None)
    return (_settle(ticketing, loaded, suspended_id=None) if loaded else None) or skipped("already processed")


def ticket_stored_mails(ticketing: Ticketing, raw_ids: Sequence[int]) -> Iterator[Outcome]:
    """`ticket_stored_mail` for many messages, in order. With readers in worker processes the next
    messages are read while one is decided and applied, so reading and the database overlap."""
    if ticketing.read_ahead <= 0 or len(raw_ids) < 2:
        yield from (ticket_stored_mail(ticketing, raw_id) for raw_id in raw_ids)
        return
    pending = iter(raw_ids)
    with ThreadPoolExecutor(ticketing.read_ahead, thread_name_prefix="read-ahead") as pool:
        window = deque(pool.submit(_load, ticketing, raw_id, None) for raw_id in islice(pending, ticketing.read_ahead))
        while window:
            loaded = window.popleft().result()
            following = next(pending, None)
            if following is not None:
                window.append(pool.submit(_load, ticketing, following, None))
            yield (_settle(ticketing, loaded, suspended_id=None) if loaded else None) or skipped("already processed")


def recover_suspended_mail(ticketing: Ticketing, suspended_id: int) -> Outcome | None:
    """A person released held-back mail: decide again without the hold-back steps.

    None when nothing is suspended under that id (never was, or already recovered or deleted)."""
    with Session(ticketing._reads) as session:
        held = session.get(SuspendedMail, suspended_id)
        if held is None or held.state != "suspended":
            return None
        raw_id = held.raw_mail_id
    loaded = _load(ticketing, raw_id, suspended_id)
    return _settle(ticketing, loaded, suspended_id) if loaded else None


@dataclass(frozen=True)
class _Loaded:
    raw_id: int
    mail: ParsedMail
    fetch_error: str | None


def _load(ticketing: Ticketing, raw_id: int, suspended_id: int | None) -> _Loaded | None:
    """The stored bytes, read within the budget, outside any transaction (never under the write lock)."""
    with ticketing._reads.connect() as connection:
        found = connection.execute(select(RawMail.raw, RawMail.state, RawMail.error)
                                   .where(RawMail.id == raw_id)).first()
    if found is None or (suspended_id is None and found.state != "pending"):
        return None
    raw = bytes(found.raw or b"")
    mail = _read(ticketing, raw)
    if suspended_id is None and not mail.too_complex and mail.classification.kind in _PREWRITTEN_KINDS:
        _write_attachments(ticketing, mail)
    return _Loaded(raw_id, mail, found.error if not raw else None)


def _settle(ticketing: Ticketing, loaded: _Loaded, suspended_id: int | None) -> Outcome | None:
    """Decide and apply in one short write transaction; a failure holds the mail back with the error."""
    try:
        with session_scope(ticketing.engine) as session:
            return _decide_and_apply(session, ticketing, loaded.raw_id, loaded.mail, loaded.fetch_error, suspended_id)
    except Exception as exc:  # noqa: BLE001 — one bad message never stops its inbox or the daemon
        log.exception("raw mail %s could not be processed", loaded.raw_id)
        return _hold_back(ticketing, loaded.raw_id, exc, suspended_id)


def _read(ticketing: Ticketing, raw: bytes) -> ParsedMail:
    result = ticketing.reader.read(raw)
    return fallback_mail(raw, result.reason) if isinstance(result, Unreadable) else result


def _write_attachments(ticketing: Ticketing, mail: ParsedMail) -> None:
    # Content-addressed, so writing early is harmless: a file nobody references is only disk.
    for attachment in mail.attachments:
        if attachment.size <= ticketing.attachment_max_bytes:
            write_attachment(ticketing.attachments_dir, attachment.payload)


def _decide_and_apply(session: Session, ticketing: Ticketing, raw_id: int, mail: ParsedMail,
                      fetch_error: str | None, suspended_id: int | None) -> Outcome | None:
    # Locked: two daemons' receivers, or a stalled pass overtaken by a new lease holder, must not
    # both ticket the same stored message.
    # The raw bytes were read before the transaction; loading them again would only cost time.
    row = session.get(RawMail, raw_id, with_for_update=True, options=[defer(RawMail.raw)])
    if row is None or (suspended_id is None and row.state != "pending"):
        return None
    if suspended_id is not None and leave_suspended(session, suspended_id, "recovered") is None:
        return None
    _describe_row(row, mail)
    now = ticketing.now()
    if fetch_error and suspended_id is None:
        return apply_decision(session, row, Suspend(reason=fetch_error, kind="error"), ticketing.attachments_dir, now)
    route = route_of(session, row, mail)
    arrival = Arrival(source=row.source, inbox_address=route.inbox_address,
                      received_at_address=route.received_at_address, group=route.group,
                      received_at=row.received_at, gmail_id=row.gmail_id, gmail_thread_id=row.gmail_thread_id,
                      label_ids=tuple(x for x in row.label_ids.split(",") if x),
                      envelope_from=row.envelope_from or "")
    trace = decide(mail, arrival, SqlMailContext(session), now, attachment_max_bytes=ticketing.attachment_max_bytes,
                   steps=STEPS if suspended_id is None else RECOVERY_STEPS)
    if isinstance(trace.decision, ForwardingMail):
        return _attach(session, ticketing, row, trace.decision, now)
    return apply_decision(session, row, trace, ticketing.attachments_dir, now)


def _describe_row(row: RawMail, mail: ParsedMail) -> None:
    """What the listings show of stored mail, known only once it is read."""
    row.message_id, row.from_email, row.subject = mail.message_id, mail.from_.email.lower(), mail.subject[:500]


def _attach(session: Session, ticketing: Ticketing, row: RawMail, decision: ForwardingMail,
            now: datetime) -> Outcome:
    attached = attach_forwarding_mail(session, row, decision, now)
    if not attached.attached:
        return apply_decision(session, row, Suspend(reason=attached.text, kind="forwarding"),
                              ticketing.attachments_dir, now)
    mark_processed(session, row, attached.text, now)
    if attached.text.startswith("skipped:"):
        return Outcome(OutcomeKind.SKIPPED, attached.text)
    return Outcome(OutcomeKind.FORWARDING, attached.text)


def _hold_back(ticketing: Ticketing, raw_id: int, exc: Exception, suspended_id: int | None) -> Outcome:
    what = "recovered" if suspended_id is not None else "processed"
    reason = f"could not be {what} ({type(exc).__name__}: {str(exc)[:300]}); the raw message is kept"
    with session_scope(ticketing.engine) as session:
        row = session.get(RawMail, raw_id)
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
