"""The pipeline's read-only view of the store (`MailContext`) over one database session."""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import Connection, bindparam, func, select, union_all
from sqlmodel import Session

from connector.mail.decision import TicketRef
from connector.store.models import Comment, ExternalAddress, Inbox, RawMail, Ticket, TicketThread

# Built once: the pipeline asks these for every message, and building a statement costs as much as running it.
# Support and external addresses are ours too: mail from them is a loop, never a customer.
_OURS = union_all(select(Inbox.address), select(ExternalAddress.external_address),
                  select(ExternalAddress.support_address))
_HOLDER = select(func.min(Comment.ticket_id)).where(Comment.message_id.in_(bindparam("ids", expanding=True)))
# The question asked of every message (dedupe): without an IN list, its SQL is not rendered again each time.
_HOLDER_OF_ONE = select(func.min(Comment.ticket_id)).where(Comment.message_id == bindparam("id"))
_THREAD = (select(TicketThread.ticket_id).join(Inbox, Inbox.id == TicketThread.inbox_id)
           .where(Inbox.address == bindparam("address"), TicketThread.gmail_thread_id == bindparam("thread"))
           .limit(1))
_TICKET = select(Ticket.status, Ticket.requester_email).where(Ticket.id == bindparam("ticket"))
_AUTHORS = select(Comment.author_email).where(Comment.ticket_id == bindparam("ticket")).distinct()
_COMMENT = (select(Comment.id).where(Comment.ticket_id == bindparam("ticket"), Comment.message_id == bindparam("mid"))
            .limit(1))
_RECENT = (select(func.count()).select_from(RawMail)
           .where(RawMail.from_email == bindparam("sender"), RawMail.received_at >= bindparam("since"),
                  # Raw mail is stored before it is decided; the message being decided is pending.
                  RawMail.state == "processed"))


def our_addresses(connection: Connection) -> frozenset[str]:
    """Connected inboxes and support/external addresses, lower-case: changed only by an admin's action."""
    return frozenset(address.lower() for address in connection.execute(_OURS).scalars())


class SqlMailContext:
    """Answers the pipeline's questions inside the caller's transaction, for one message.

    Plain SQL expressions on the session's connection, not ORM queries: the pipeline asks a few
    questions per message, and the ORM's bookkeeping would cost more than the database.
    `support_addresses` may be shared by the messages of one transaction; the tickets looked up
    are not, since each message applied may change them."""

    def __init__(self, session: Session, support_addresses: frozenset[str] | None = None):
        session.flush()     # plain SQL does not autoflush: let it see what the session holds
        self._connection = session.connection()
        self._tickets: dict[int, TicketRef | None] = {}
        self.support_addresses: frozenset[str] = (
            our_addresses(self._connection) if support_addresses is None else support_addresses)

    def ticket_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        wanted = [m for m in message_ids if m]
        if not wanted:
            return None
        if len(wanted) == 1:
            ticket_id = self._connection.execute(_HOLDER_OF_ONE, {"id": wanted[0]}).scalar()
        else:
            ticket_id = self._connection.execute(_HOLDER, {"ids": wanted}).scalar()
        return self.ticket_by_id(ticket_id) if ticket_id is not None else None

    def ticket_for_gmail_thread(self, inbox_address: str, thread_id: str) -> TicketRef | None:
        ticket_id = self._connection.execute(_THREAD, {"address": inbox_address.lower(), "thread": thread_id}).scalar()
        return self.ticket_by_id(ticket_id) if ticket_id is not None else None

    def ticket_by_id(self, ticket_id: int) -> TicketRef | None:
        if ticket_id not in self._tickets:
            self._tickets[ticket_id] = self._load_ticket(ticket_id)
        return self._tickets[ticket_id]

    def _load_ticket(self, ticket_id: int) -> TicketRef | None:
        found = self._connection.execute(_TICKET, {"ticket": ticket_id}).first()
        if found is None:
            return None
        authors = self._connection.execute(_AUTHORS, {"ticket": ticket_id}).scalars()
        participants = {email.lower() for email in authors if email}
        if found.requester_email:
            participants.add(found.requester_email.lower())
        return TicketRef(id=ticket_id, status=found.status, participants=frozenset(participants))

    def comment_exists(self, ticket_id: int, message_id: str) -> bool:
        return self._connection.execute(_COMMENT, {"ticket": ticket_id, "mid": message_id}).first() is not None

    def recent_mail_count(self, sender_email: str, since: datetime) -> int:
        return int(self._connection.execute(_RECENT, {"sender": sender_email.lower(), "since": since}).scalar() or 0)
