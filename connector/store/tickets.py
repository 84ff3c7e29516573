"""Applying the pipeline's decision for one raw message, inside the caller's transaction."""
from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Iterable

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session
from sqlmodel import select as orm_select

from connector.mail.decision import AddComment, CreateTicket, Decision, NewComment, Skip, Suspend, Trace
from connector.mail.outcome import Outcome, OutcomeKind, skipped
from connector.store.attachment_files import write_attachment
from connector.store.models import Comment, RawMail, StoredAttachment, SuspendedMail, Ticket, TicketThread
from connector.store.helpdesk_outbox import queue_events
from connector.store.raw import PendingMail, mark_processed
from connector.store.types import utcnow

REOPENED_FROM = ("pending", "solved")


class UnknownTicket(LookupError):
    """The decision names a ticket that no longer exists."""


def apply_decision(session: Session, raw_mail: RawMail, trace_or_decision: Trace | Decision,
                   attachments_dir: Path, now: datetime | None = None) -> Outcome:
    """Carry out a ticket decision and mark the raw mail processed; returns what happened.

    Applying the same message again creates nothing twice. Nothing is committed here. Forwarding
    mail is not a ticket decision: the forwarding store attaches it (connector/store/addresses.py).
    """
    decision = trace_or_decision.decision if isinstance(trace_or_decision, Trace) else trace_or_decision
    now = now or utcnow()
    session.flush()     # the statements below are plain SQL: let them see what the session holds
    outcome = carry_out(session, raw_mail, decision, Path(attachments_dir), now)
    mark_processed(session, raw_mail, outcome.text, now)
    return outcome


def carry_out(session: Session, raw_mail: RawMail | PendingMail, decision: Decision, attachments_dir: Path,
              now: datetime, *, just_decided: bool = False, outbox: bool = False) -> Outcome:
    """`apply_decision` without marking the raw mail, for callers that mark it in their own statement.

    `just_decided`: `decide` made this decision in this very transaction, so on a database whose
    write transactions run one at a time (SQLite) what its dedupe step checked still holds.
    `outbox`: a helpdesk destination is configured; what changed is queued for it in this transaction."""
    if isinstance(decision, CreateTicket):
        return _create_ticket(session, raw_mail, decision, attachments_dir, now,
                              checked=just_decided and not _concurrent(session), outbox=outbox)
    if isinstance(decision, AddComment):
        return _add_comment(session, raw_mail, decision, attachments_dir, now, outbox=outbox)
    if isinstance(decision, Suspend):
        return _suspend(session, raw_mail, decision, now)
    if isinstance(decision, Skip):
        return skipped(decision.reason)
    raise TypeError(f"not a ticket decision: {type(decision).__name__}")


def _concurrent(session: Session) -> bool:
    """PostgreSQL runs write transactions side by side; SQLite's (BEGIN IMMEDIATE) run one at a time."""
    return session.get_bind().dialect.name == "postgresql"


def take_turns(session: Session, message_ids: Iterable[str]) -> None:
    """On PostgreSQL, wait until no other transaction is deciding any of these Message-IDs, and hold
    them until commit: two inboxes' passes over the same Cc'd mail then take turns.

    Taken in one order (by key), all at once, so two passes holding several each queue behind
    each other instead of deadlocking. SQLite needs nothing: its write transactions (BEGIN
    IMMEDIATE) already run one at a time."""
    if not _concurrent(session):
        return
    keys = sorted({int.from_bytes(hashlib.sha256(m.encode()).digest()[:8], "big", signed=True)
                   for m in message_ids if m})
    if keys:
        # unnest yields the array in order, so the locks are taken in that order.
        session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                        {"keys": keys})


_HOLDER = select(Comment.ticket_id).where(Comment.message_id == bindparam("mid")).order_by(Comment.ticket_id).limit(1)
_NEW_TICKET = insert(Ticket).returning(Ticket.id)


def _create_ticket(session: Session, raw_mail: RawMail | PendingMail, decision: CreateTicket,
                   attachments_dir: Path, now: datetime, checked: bool, outbox: bool) -> Outcome:
    # The same message reaching two support inboxes (Cc) must not open two tickets.
    take_turns(session, [decision.comment.message_id])
    connection = session.connection()
    if not checked:
        existing = connection.execute(_HOLDER, {"mid": decision.comment.message_id}).scalar()
        if existing is not None:
            _map_thread(connection, raw_mail, existing)
            return skipped(f"already on ticket {existing}", existing)
    ticket_id = connection.execute(_NEW_TICKET, dict(
        subject=decision.subject, status="new", requester_name=decision.requester.name,
        requester_email=decision.requester.email.lower(), group=decision.group, inbox_id=raw_mail.inbox_id,
        received_at_address=decision.received_at_address.lower(), flags=",".join(decision.flags),
        gmail_thread_id=raw_mail.gmail_thread_id, created_at=now, updated_at=now,
    )).scalar_one()
    comment_id = _insert_comment(connection, ticket_id, raw_mail, decision.comment, attachments_dir, now)
    _map_thread(connection, raw_mail, ticket_id)
    if outbox:
        queue_events(connection, ticket_id, [("ticket.created", comment_id)], now)
    return Outcome(OutcomeKind.CREATED, f"ticket {ticket_id} created", ticket_id)


_STATUS = select(Ticket.status).where(Ticket.id == bindparam("ticket"))
_TOUCH = update(Ticket).where(Ticket.id == bindparam("ticket")).values(status=bindparam("now_status"),
                                                                       updated_at=bindparam("at"))


def _add_comment(session: Session, raw_mail: RawMail | PendingMail, decision: AddComment, attachments_dir: Path,
                 now: datetime, outbox: bool) -> Outcome:
    connection = session.connection()
    status = connection.execute(_STATUS, {"ticket": decision.ticket_id}).scalar()
    if status is None:
        raise UnknownTicket(f"ticket {decision.ticket_id} does not exist")
    _map_thread(connection, raw_mail, decision.ticket_id)
    comment_id = _insert_comment(connection, decision.ticket_id, raw_mail, decision.comment, attachments_dir, now)
    if comment_id is None:
        return skipped(f"already on ticket {decision.ticket_id}", decision.ticket_id)
    reopened = decision.reopen and status in REOPENED_FROM
    connection.execute(_TOUCH, {"ticket": decision.ticket_id, "now_status": "open" if reopened else status, "at": now})
    if outbox:
        events = [("comment.added" if decision.comment.public else "note.added", comment_id)]
        # Agents solve tickets in the helpdesk, where our store cannot see it: every customer answer
        # asks the helpdesk to reopen, and the adapter leaves an active ticket as it is.
        asks_reopen = decision.comment.public
        queue_events(connection, decision.ticket_id, events + ([("ticket.reopened", None)] if asks_reopen else []),
                     now)
    _forget_loaded(session, Ticket, decision.ticket_id)
    kind = OutcomeKind.COMMENTED if decision.comment.public else OutcomeKind.NOTED
    text = f"comment on {decision.ticket_id}" if decision.comment.public else f"private note on {decision.ticket_id}"
    return Outcome(kind, text + (" (reopened)" if reopened else ""), decision.ticket_id, reopened)


def _forget_loaded(session: Session, model, row_id: int) -> None:
    """A copy of the row the session holds would be stale after a plain UPDATE: it is read again when next used."""
    held = session.identity_map.get(session.identity_key(model, row_id))
    if held is not None:
        session.expire(held)


def _insert_comment(connection: Connection, ticket_id: int, raw_mail: RawMail | PendingMail, comment: NewComment,
                    attachments_dir: Path, now: datetime) -> int | None:
    """Add the comment and its attachments; its id, or None when the ticket already holds this Message-ID.

    The unique key decides, in the insert itself: a concurrent worker's copy cannot slip in between."""
    comment_id = connection.execute(_insert_or_nothing(connection.dialect.name, "comments"), dict(
        ticket_id=ticket_id, raw_mail_id=raw_mail.id, author_name=comment.author.name,
        author_email=comment.author.email.lower(), body_text=comment.body_text, body_html=comment.body_html,
        public=comment.public, message_id=comment.message_id, direction="inbound",
        notes="\n".join(comment.notes), cc_addresses=",".join(p.email.lower() for p in comment.cc), created_at=now,
    )).scalar()
    if comment_id is None:
        return None
    files = []
    for attachment in comment.attachments:
        sha256, relative = write_attachment(attachments_dir, attachment.payload)
        files.append(dict(comment_id=comment_id, filename=attachment.filename, content_type=attachment.content_type,
                          size=len(attachment.payload), sha256=sha256, content_id=attachment.content_id,
                          inline=attachment.inline, path=relative))
    if files:
        connection.execute(insert(StoredAttachment), files)
    return comment_id


def _map_thread(connection: Connection, raw_mail: RawMail | PendingMail, ticket_id: int) -> None:
    """Remember which ticket this Gmail thread feeds, so later replies in it find the ticket.

    A thread already mapped (earlier, or concurrently) keeps its first mapping."""
    if raw_mail.inbox_id is None or not raw_mail.gmail_thread_id:
        return
    connection.execute(_insert_or_nothing(connection.dialect.name, "ticket_threads"), dict(
        ticket_id=ticket_id, inbox_id=raw_mail.inbox_id, gmail_thread_id=raw_mail.gmail_thread_id))


_UNIQUE_KEYS = {"comments": (Comment, ("ticket_id", "message_id")),
                "ticket_threads": (TicketThread, ("inbox_id", "gmail_thread_id"))}


@cache
def _insert_or_nothing(dialect: str, table: str):
    """INSERT that does nothing when the row's unique key is taken, returning the new id (or none)."""
    model, keys = _UNIQUE_KEYS[table]
    dialect_insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    return dialect_insert(model).on_conflict_do_nothing(index_elements=list(keys)).returning(model.id)


def _suspend(session: Session, raw_mail: RawMail | PendingMail, decision: Suspend, now: datetime) -> Outcome:
    row = session.exec(orm_select(SuspendedMail).where(SuspendedMail.raw_mail_id == raw_mail.id)).first()
    if row is None:
        row = SuspendedMail(raw_mail_id=raw_mail.id, from_email=raw_mail.from_email, subject=raw_mail.subject,
                            received_at=raw_mail.received_at, kind=decision.kind, reason=decision.reason,
                            created_at=now)
    else:  # re-processed after a recovery and held back again
        row.kind, row.reason, row.state = decision.kind, decision.reason, "suspended"
    session.add(row)
    return Outcome(OutcomeKind.SUSPENDED, f"suspended: {decision.reason}")
