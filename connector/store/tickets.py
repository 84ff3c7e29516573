"""Applying the pipeline's decision for one raw message, inside the caller's transaction."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connector.mail.decision import AddComment, CreateTicket, Decision, NewComment, Skip, Suspend, Trace
from connector.mail.outcome import Outcome, OutcomeKind, skipped
from connector.store.attachment_files import write_attachment
from connector.store.models import Comment, RawMail, StoredAttachment, SuspendedMail, Ticket, TicketThread
from connector.store.raw import mark_processed
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
    if isinstance(decision, CreateTicket):
        outcome = _create_ticket(session, raw_mail, decision, Path(attachments_dir), now)
    elif isinstance(decision, AddComment):
        outcome = _add_comment(session, raw_mail, decision, Path(attachments_dir), now)
    elif isinstance(decision, Suspend):
        outcome = _suspend(session, raw_mail, decision, now)
    elif isinstance(decision, Skip):
        outcome = skipped(decision.reason)
    else:
        raise TypeError(f"not a ticket decision: {type(decision).__name__}")
    mark_processed(session, raw_mail, outcome.text, now)
    return outcome


def _serialise_on(session: Session, message_id: str) -> None:
    """On PostgreSQL, two inboxes' passes deciding the same Message-ID take turns until commit.

    SQLite needs nothing: its write transactions (BEGIN IMMEDIATE) already run one at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(message_id.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _create_ticket(session: Session, raw_mail: RawMail, decision: CreateTicket, attachments_dir: Path,
                   now: datetime) -> Outcome:
    # The same message reaching two support inboxes (Cc) must not open two tickets.
    _serialise_on(session, decision.comment.message_id)
    existing = session.exec(select(Comment.ticket_id).where(
        Comment.message_id == decision.comment.message_id).order_by(Comment.ticket_id)).first()
    if existing is not None:
        _map_thread(session, raw_mail, existing)
        return skipped(f"already on ticket {existing}", existing)
    ticket = Ticket(
        subject=decision.subject, status="new", requester_name=decision.requester.name,
        requester_email=decision.requester.email.lower(), group=decision.group, inbox_id=raw_mail.inbox_id,
        received_at_address=decision.received_at_address.lower(), flags=",".join(decision.flags),
        gmail_thread_id=raw_mail.gmail_thread_id, created_at=now, updated_at=now,
    )
    session.add(ticket)
    session.flush()
    # A ticket made just now holds no comment yet: nothing to check, nothing to collide with.
    _insert_comment(session, ticket.id, raw_mail, decision.comment, attachments_dir, now, new_ticket=True)
    _map_thread(session, raw_mail, ticket.id)
    return Outcome(OutcomeKind.CREATED, f"ticket {ticket.id} created", ticket.id)


def _add_comment(session: Session, raw_mail: RawMail, decision: AddComment, attachments_dir: Path,
                 now: datetime) -> Outcome:
    ticket = session.get(Ticket, decision.ticket_id)
    if ticket is None:
        raise UnknownTicket(f"ticket {decision.ticket_id} does not exist")
    _map_thread(session, raw_mail, ticket.id)
    if not _insert_comment(session, ticket.id, raw_mail, decision.comment, attachments_dir, now):
        return skipped(f"already on ticket {ticket.id}", ticket.id)
    reopened = decision.reopen and ticket.status in REOPENED_FROM
    if reopened:
        ticket.status = "open"
    ticket.updated_at = now
    session.add(ticket)
    kind = OutcomeKind.COMMENTED if decision.comment.public else OutcomeKind.NOTED
    text = f"comment on {ticket.id}" if decision.comment.public else f"private note on {ticket.id}"
    return Outcome(kind, text + (" (reopened)" if reopened else ""), ticket.id, reopened)


def _insert_comment(session: Session, ticket_id: int, raw_mail: RawMail, comment: NewComment,
                    attachments_dir: Path, now: datetime, new_ticket: bool = False) -> bool:
    """Add the comment and its attachments; False when the ticket already holds this Message-ID."""
    exists = select(Comment.id).where(Comment.ticket_id == ticket_id, Comment.message_id == comment.message_id)
    if not new_ticket and session.exec(exists).first() is not None:
        return False
    row = Comment(
        ticket_id=ticket_id, raw_mail_id=raw_mail.id, author_name=comment.author.name,
        author_email=comment.author.email.lower(), body_text=comment.body_text, body_html=comment.body_html,
        public=comment.public, message_id=comment.message_id, direction="inbound",
        notes="\n".join(comment.notes), created_at=now,
    )
    if new_ticket:
        session.add(row)
        if comment.attachments:
            session.flush()    # the attachments need the comment's id
    else:
        # Another worker may have added it since the check; the unique constraint has the last word.
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return False
    for attachment in comment.attachments:
        sha256, relative = write_attachment(attachments_dir, attachment.payload)
        session.add(StoredAttachment(
            comment_id=row.id, filename=attachment.filename, content_type=attachment.content_type,
            size=len(attachment.payload), sha256=sha256, content_id=attachment.content_id,
            inline=attachment.inline, path=relative))
    return True


def _map_thread(session: Session, raw_mail: RawMail, ticket_id: int) -> None:
    """Remember which ticket this Gmail thread feeds, so later replies in it find the ticket."""
    if raw_mail.inbox_id is None or not raw_mail.gmail_thread_id:
        return
    known = select(TicketThread.id).where(TicketThread.inbox_id == raw_mail.inbox_id,
                                          TicketThread.gmail_thread_id == raw_mail.gmail_thread_id)
    if session.exec(known).first() is not None:
        return
    try:
        with session.begin_nested():
            session.add(TicketThread(ticket_id=ticket_id, inbox_id=raw_mail.inbox_id,
                                     gmail_thread_id=raw_mail.gmail_thread_id))
    except IntegrityError:
        pass  # mapped concurrently: the first mapping stands


def _suspend(session: Session, raw_mail: RawMail, decision: Suspend, now: datetime) -> Outcome:
    row = session.exec(select(SuspendedMail).where(SuspendedMail.raw_mail_id == raw_mail.id)).first()
    if row is None:
        row = SuspendedMail(raw_mail_id=raw_mail.id, from_email=raw_mail.from_email, subject=raw_mail.subject,
                            received_at=raw_mail.received_at, kind=decision.kind, reason=decision.reason,
                            created_at=now)
    else:  # re-processed after a recovery and held back again
        row.kind, row.reason, row.state = decision.kind, decision.reason, "suspended"
    session.add(row)
    return Outcome(OutcomeKind.SUSPENDED, f"suspended: {decision.reason}")
