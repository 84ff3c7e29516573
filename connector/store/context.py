"""The pipeline's read-only view of the store (`MailContext`) over one database session."""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select, union_all
from sqlmodel import Session

from connector.mail.decision import TicketRef
from connector.store.models import Comment, ExternalAddress, Inbox, RawMail, Ticket, TicketThread


class SqlMailContext:
    """Answers the pipeline's questions inside the caller's transaction.

    Plain SQL expressions on the session's connection, not ORM queries: the pipeline asks a few
    questions per message, and the ORM's bookkeeping would cost more than the database."""

    def __init__(self, session: Session):
        session.flush()     # plain SQL does not autoflush: let it see what the session holds
        self._connection = session.connection()
        self._tickets: dict[int, TicketRef | None] = {}
        # Read once: the pipeline asks for every message, and the set changes only by admin action.
        # Support and external addresses are ours too: mail from them is a loop, never a customer.
        ours = union_all(select(Inbox.address), select(ExternalAddress.external_address),
                         select(ExternalAddress.support_address))
        self.support_addresses: frozenset[str] = frozenset(
            address.lower() for address in self._connection.execute(ours).scalars())

    def ticket_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        wanted = [m for m in message_ids if m]
        if not wanted:
            return None
        query = select(func.min(Comment.ticket_id)).where(Comment.message_id.in_(wanted))
        ticket_id = self._connection.execute(query).scalar()
        return self.ticket_by_id(ticket_id) if ticket_id is not None else None

    def ticket_for_gmail_thread(self, inbox_address: str, thread_id: str) -> TicketRef | None:
        query = (select(TicketThread.ticket_id)
                 .join(Inbox, Inbox.id == TicketThread.inbox_id)
                 .where(Inbox.address == inbox_address.lower(), TicketThread.gmail_thread_id == thread_id)
                 .limit(1))
        ticket_id = self._connection.execute(query).scalar()
        return self.ticket_by_id(ticket_id) if ticket_id is not None else None

    def ticket_by_id(self, ticket_id: int) -> TicketRef | None:
        if ticket_id not in self._tickets:
            self._tickets[ticket_id] = self._load_ticket(ticket_id)
        return self._tickets[ticket_id]

    def _load_ticket(self, ticket_id: int) -> TicketRef | None:
        found = self._connection.execute(select(Ticket.status, Ticket.requester_email)
                                         .where(Ticket.id == ticket_id)).first()
        if found is None:
            return None
        authors = self._connection.execute(
            select(Comment.author_email).where(Comment.ticket_id == ticket_id).distinct()).scalars()
        participants = {email.lower() for email in authors if email}
        if found.requester_email:
            participants.add(found.requester_email.lower())
        return TicketRef(id=ticket_id, status=found.status, participants=frozenset(participants))

    def comment_exists(self, ticket_id: int, message_id: str) -> bool:
        query = select(Comment.id).where(Comment.ticket_id == ticket_id, Comment.message_id == message_id).limit(1)
        return self._connection.execute(query).first() is not None

    def recent_mail_count(self, sender_email: str, since: datetime) -> int:
        query = (select(func.count()).select_from(RawMail)
                 .where(RawMail.from_email == sender_email.lower(), RawMail.received_at >= since,
                        # Raw mail is stored before it is decided; the message being decided is pending.
                        RawMail.state == "processed"))
        return int(self._connection.execute(query).scalar() or 0)
