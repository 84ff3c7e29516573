"""The pipeline's read-only view of the store (`MailContext`) over one database session."""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import func
from sqlmodel import Session, select

from connector.mail.decision import TicketRef
from connector.store.models import Comment, ExternalAddress, Inbox, RawMail, Ticket, TicketThread


class SqlMailContext:
    """Answers the pipeline's questions inside the caller's transaction."""

    def __init__(self, session: Session):
        self._session = session
        # Read once: the pipeline asks for every message, and the set changes only by admin action.
        inboxes = session.exec(select(Inbox.address)).all()
        # Support and external addresses are ours too: mail from them is a loop, never a customer.
        mapped = session.exec(select(ExternalAddress.external_address, ExternalAddress.support_address)).all()
        self.support_addresses: frozenset[str] = frozenset(
            address.lower() for address in [*inboxes, *(a for pair in mapped for a in pair)])

    def ticket_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        wanted = [m for m in message_ids if m]
        if not wanted:
            return None
        query = select(func.min(Comment.ticket_id)).where(Comment.message_id.in_(wanted))
        ticket_id = self._session.exec(query).one()
        return self.ticket_by_id(ticket_id) if ticket_id is not None else None

    def ticket_for_gmail_thread(self, inbox_address: str, thread_id: str) -> TicketRef | None:
        query = (select(TicketThread.ticket_id)
                 .join(Inbox, Inbox.id == TicketThread.inbox_id)
                 .where(Inbox.address == inbox_address.lower(), TicketThread.gmail_thread_id == thread_id))
        ticket_id = self._session.exec(query).first()
        return self.ticket_by_id(ticket_id) if ticket_id is not None else None

    def ticket_by_id(self, ticket_id: int) -> TicketRef | None:
        ticket = self._session.get(Ticket, ticket_id)
        if ticket is None:
            return None
        authors = self._session.exec(
            select(Comment.author_email).where(Comment.ticket_id == ticket_id).distinct())
        participants = {email.lower() for email in authors if email}
        if ticket.requester_email:
            participants.add(ticket.requester_email.lower())
        return TicketRef(id=ticket.id, status=ticket.status, participants=frozenset(participants))

    def comment_exists(self, ticket_id: int, message_id: str) -> bool:
        query = select(Comment.id).where(Comment.ticket_id == ticket_id, Comment.message_id == message_id)
        return self._session.exec(query).first() is not None

    def recent_mail_count(self, sender_email: str, since: datetime) -> int:
        query = (select(func.count()).select_from(RawMail)
                 .where(RawMail.from_email == sender_email.lower(), RawMail.received_at >= since,
                        # Raw mail is stored before it is decided; the message being decided is pending.
                        RawMail.state == "processed"))
        return int(self._session.exec(query).one())
