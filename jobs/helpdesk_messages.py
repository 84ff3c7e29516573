"""What an outbox event says, in the helpdesk port's words: our stored ticket and comment as port values.

Keys are derived from our ids and this installation's key, so they are stable across retries and
restarts and never collide with another connector feeding the same helpdesk.
"""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from connector.helpdesk.port import FileToDeliver, HelpdeskMessage, NewHelpdeskTicket, Person
from connector.settings import Settings
from connector.store.models import Comment, RawMail, StoredAttachment, Ticket


class EventGone(LookupError):
    """What the event announces no longer exists (the ticket or comment was deleted)."""


def ticket_key(installation: str, ticket_id: int) -> str:
    return f"gmc-{installation}-t{ticket_id}"


def message_key(installation: str, comment_id: int) -> str:
    return f"gmc-{installation}-c{comment_id}"


def event_key(installation: str, event_id: int) -> str:
    return f"gmc-{installation}-e{event_id}"


def queue_of(settings: Settings, group: str) -> str:
    """HELPDESK_QUEUES maps a group to a queue; unmapped groups go to HELPDESK_DEFAULT_QUEUE."""
    mapped = {g.lower(): q for g, q in settings.helpdesk_queues}
    return mapped.get(group.lower(), settings.helpdesk_default_queue)


def message_of(session: Session, settings: Settings, installation: str, comment_id: int | None) -> HelpdeskMessage:
    comment = session.get(Comment, comment_id) if comment_id is not None else None
    if comment is None:
        raise EventGone(f"comment {comment_id} no longer exists")
    files = [_file(settings.attachments_dir, a) for a in session.exec(
        select(StoredAttachment).where(StoredAttachment.comment_id == comment.id).order_by(StoredAttachment.id))]
    if settings.helpdesk_attach_original and comment.raw_mail_id is not None:
        raw = session.get(RawMail, comment.raw_mail_id)
        if raw is not None and raw.raw:
            files.append(FileToDeliver("original.eml", "message/rfc822", bytes(raw.raw)))
    body_text = comment.body_text
    if comment.notes:
        body_text = body_text + "\n\n" + "\n".join(f"[connector] {note}" for note in comment.notes.splitlines())
    return HelpdeskMessage(
        key=message_key(installation, comment.id), author=Person(comment.author_name, comment.author_email),
        body_text=body_text, body_html=comment.body_html, message_id=comment.message_id,
        created_at=comment.created_at, public=comment.public, cc=_people(comment.cc_addresses),
        attachments=tuple(files), our_ticket_id=comment.ticket_id)


def new_ticket_of(session: Session, settings: Settings, installation: str, ticket_id: int,
                  first: HelpdeskMessage) -> NewHelpdeskTicket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise EventGone(f"ticket {ticket_id} no longer exists")
    return NewHelpdeskTicket(
        key=ticket_key(installation, ticket_id), our_ticket_id=ticket_id, subject=ticket.subject,
        requester=Person(ticket.requester_name, ticket.requester_email), queue=queue_of(settings, ticket.group),
        first=first, cc=first.cc)


def first_comment_id(session: Session, ticket_id: int) -> int | None:
    """A ticket created before the outbox was on: its first customer comment opens the helpdesk ticket."""
    return session.scalar(select(Comment.id).where(Comment.ticket_id == ticket_id, Comment.public)
                          .order_by(Comment.id).limit(1))


def _people(joined: str) -> tuple[Person, ...]:
    return tuple(Person("", email) for email in joined.split(",") if email)


def _file(attachments_dir: Path, stored: StoredAttachment) -> FileToDeliver:
    # A file missing from disk is a broken store, not a reason to drop the ticket: the error surfaces.
    payload = (attachments_dir / stored.path).read_bytes()
    return FileToDeliver(filename=stored.filename, content_type=stored.content_type, payload=payload,
                         inline=stored.inline, content_id=stored.content_id, attachment_id=stored.id)
