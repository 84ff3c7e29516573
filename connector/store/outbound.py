"""The outgoing mail queue in the store: a reply (or private note) is written here before any sending."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Sequence

from sqlalchemy import func
from sqlmodel import Session, select

from connector.outbound.caps import SEND_CAP_WINDOW, daily_send_cap
from connector.outbound.compose import (MAX_MESSAGE_BYTES, Reply, ReplyAttachment, ReplyError, capped_references,
                                        check_size, compose_reply, new_message_id, reply_subject)
from connector.outbound.compose import ReplyTooLarge  # noqa: F401  (re-exported: queue_reply raises it)
from connector.store.attachment_files import write_attachment
from connector.store.forwarding_models import ExternalAddress
from connector.store.models import Comment, Inbox, StoredAttachment, Ticket, TicketThread
from connector.store.outbound_models import OUTGOING_STATES, OutgoingMail
from connector.store.types import iso_utc, utcnow

# parse_mail invents ids for mail without one; they were never on the wire, so never reference them.
_SYNTHETIC_SUFFIX = "@generated.invalid"
# One mailbox: the queue row joins recipients with commas, so a comma or a space would make several.
_ONE_ADDRESS = re.compile(r"[^@\s,<>]+@[^@\s,<>]+")


class UnknownTicket(ReplyError, LookupError):
    """No ticket with this id."""


class NoRequester(ReplyError):
    """The ticket has no address to reply to (its mail had no usable From); a private note is still allowed."""


def queue_reply(session: Session, ticket_id: int, body: str, attachments: Sequence[ReplyAttachment] = (),
                private: bool = False, now: datetime | None = None, *, attachments_dir: Path,
                max_message_bytes: int = MAX_MESSAGE_BYTES, source_key: str | None = None) -> OutgoingMail:
    """Store a reply for the send job (or, when `private`, a private note that is never sent).

    `source_key` names who asked for it (an agent's answer in the helpdesk, an API caller's
    Idempotency-Key): asked again, the reply queued the first time is returned and nothing is added.
    Raises ReplyError (UnknownTicket, NoRequester, ReplyTooLarge) before anything is written. Not committed here.
    """
    if source_key is not None:
        earlier = session.exec(select(OutgoingMail).where(OutgoingMail.source_key == source_key)).first()
        if earlier is not None:
            return earlier
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise UnknownTicket(f"no ticket {ticket_id}")
    # Checked here, where the CLI and the API both queue, so neither can send a reply to nobody.
    if not private and not _ONE_ADDRESS.fullmatch(ticket.requester_email or ""):
        raise NoRequester(f"ticket {ticket_id} has no requester address to reply to")
    if not body.strip() and not attachments:
        raise ReplyError("the reply has neither text nor attachments")
    now = now or utcnow()
    row = _new_row(session, ticket, body, private, now)
    row.source_key = source_key
    # Composed once now so a reply Gmail would refuse is refused before it is queued.
    check_size(compose_reply(reply_of(row, tuple(attachments))), max_message_bytes)
    row.attachments = json.dumps([_store_file(attachments_dir, a) for a in attachments])
    session.add(row)
    session.flush()
    if private:
        add_outbound_comment(session, row, public=False, now=now)
    return row


def _new_row(session: Session, ticket: Ticket, body: str, private: bool, now: datetime) -> OutgoingMail:
    from_address = sender_address(session, ticket)
    inbox = session.exec(select(Inbox).where(Inbox.address == from_address)).first()
    thread_id = _gmail_thread(session, ticket, inbox)
    ids = _thread_message_ids(session, ticket.id)
    inbound = [mid for mid, direction in ids if direction == "inbound"]
    return OutgoingMail(
        ticket_id=ticket.id, inbox_id=inbox.id if inbox else ticket.inbox_id, from_address=from_address,
        to_addresses=ticket.requester_email.lower(),
        subject=reply_subject(ticket.subject, ticket.id, add_token=thread_id is None), body_text=body,
        private=private, message_id=new_message_id(ticket.id, from_address),
        in_reply_to=inbound[-1] if inbound else None,
        references=" ".join(capped_references([mid for mid, _ in ids])), gmail_thread_id=thread_id,
        state="private" if private else "queued", next_attempt_at=None if private else now,
        created_at=now, updated_at=now)


def sender_address(session: Session, ticket: Ticket) -> str:
    """The address the customer wrote to; for mail forwarded to us, the external address it came from."""
    address = (ticket.received_at_address or "").lower()
    if not address and ticket.inbox_id is not None:
        inbox = session.get(Inbox, ticket.inbox_id)
        address = inbox.address if inbox else ""
    return external_address_for(session, address) or address


def external_address_for(session: Session, support_address: str) -> str | None:
    """The external address forwarding to this support address, if forwarding knows one."""
    query = select(ExternalAddress.external_address).where(ExternalAddress.support_address == support_address)
    return session.exec(query).first()


def _gmail_thread(session: Session, ticket: Ticket, inbox: Inbox | None) -> str | None:
    """The ticket's Gmail thread in the mailbox we send from (None: that mailbox has no thread for it)."""
    if inbox is None:
        return None
    if ticket.inbox_id == inbox.id and ticket.gmail_thread_id:
        return ticket.gmail_thread_id
    query = select(TicketThread.gmail_thread_id).where(TicketThread.ticket_id == ticket.id,
                                                       TicketThread.inbox_id == inbox.id)
    return session.exec(query.order_by(TicketThread.id)).first()


def _thread_message_ids(session: Session, ticket_id: int) -> list[tuple[str, str]]:
    """(Message-ID, direction) of the conversation's public messages, oldest first."""
    query = (select(Comment.message_id, Comment.direction)
             .where(Comment.ticket_id == ticket_id, Comment.public == True)  # noqa: E712
             .order_by(Comment.created_at, Comment.id))
    return [(mid, direction) for mid, direction in session.exec(query)
            if mid and not mid.endswith(_SYNTHETIC_SUFFIX)]


def _store_file(attachments_dir: Path, attachment: ReplyAttachment) -> dict:
    sha256, relative = write_attachment(Path(attachments_dir), attachment.payload)
    return {"filename": attachment.filename, "content_type": attachment.content_type,
            "size": len(attachment.payload), "sha256": sha256, "path": relative}


def load_attachments(row: OutgoingMail, attachments_dir: Path) -> tuple[ReplyAttachment, ...]:
    return tuple(ReplyAttachment(a["filename"], a["content_type"], (Path(attachments_dir) / a["path"]).read_bytes())
                 for a in json.loads(row.attachments or "[]"))


def reply_of(row: OutgoingMail, attachments: tuple[ReplyAttachment, ...]) -> Reply:
    return Reply(from_address=row.from_address, from_name=row.from_name, to=_split(row.to_addresses),
                 cc=_split(row.cc_addresses), subject=row.subject, body_text=row.body_text,
                 message_id=row.message_id, date=row.created_at, in_reply_to=row.in_reply_to,
                 references=tuple(row.references.split()), attachments=attachments)


def _split(joined: str) -> tuple[str, ...]:
    return tuple(a for a in (joined or "").split(",") if a)


def add_outbound_comment(session: Session, row: OutgoingMail, public: bool, now: datetime) -> Comment | None:
    """The reply as a comment on its ticket; its Message-ID is how the customer's answer finds the ticket."""
    exists = select(Comment).where(Comment.ticket_id == row.ticket_id, Comment.message_id == row.message_id)
    if session.exec(exists).first() is not None:
        return None
    comment = Comment(ticket_id=row.ticket_id, author_name=row.from_name, author_email=row.from_address,
                      body_text=row.body_text, public=public, message_id=row.message_id, direction="outbound",
                      created_at=now)
    session.add(comment)
    session.flush()
    for a in json.loads(row.attachments or "[]"):
        session.add(StoredAttachment(comment_id=comment.id, filename=a["filename"], content_type=a["content_type"],
                                     size=a["size"], sha256=a["sha256"], path=a["path"]))
    return comment


def outbound_status(session: Session, now: datetime) -> dict:
    """Replies by state, and per Gmail inbox the last 24 hours' sends against its daily cap (no Gmail call)."""
    by_state = dict(session.exec(select(OutgoingMail.state, func.count()).group_by(OutgoingMail.state)).all())
    sent = dict(session.exec(
        select(OutgoingMail.inbox_id, func.count())
        .where(OutgoingMail.transport == "gmail", OutgoingMail.sent_at > now - SEND_CAP_WINDOW)
        .group_by(OutgoingMail.inbox_id)).all())
    waiting = {inbox_id: (count, until) for inbox_id, count, until in session.exec(
        select(OutgoingMail.inbox_id, func.count(), func.max(OutgoingMail.next_attempt_at))
        .where(OutgoingMail.state == "waiting_cap").group_by(OutgoingMail.inbox_id))}
    inboxes = {}
    for inbox in session.exec(select(Inbox).order_by(Inbox.address)):
        count, until = waiting.get(inbox.id, (0, None))
        inboxes[inbox.address] = {"sent_last_24h": int(sent.get(inbox.id, 0)),
                                  "daily_cap": daily_send_cap(inbox.address),
                                  "waiting_cap": int(count), "waiting_until": iso_utc(until)}
    return {"by_state": {state: int(by_state.get(state, 0)) for state in OUTGOING_STATES}, "inboxes": inboxes}
