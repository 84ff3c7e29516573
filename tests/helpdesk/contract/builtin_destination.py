"""The built-in store (HELPDESK=builtin) as a contract destination: the tickets are ours, agents answer through our API."""
from __future__ import annotations

import uuid

from sqlmodel import Session, select

from connector.store.models import Comment, Ticket
from connector.store.ticket_models import StoredAttachment
from tests.helpdesk.contract.destination import ApiAnswer, SeenMessage, SeenTicket


class BuiltinDestination:
    name, queue, loses_answers, credits_customer = "builtin", "Support", False, True
    settings: dict = {}

    def __init__(self):
        self.runtime = None

    def bind(self, runtime) -> None:
        self.runtime = runtime

    def helpdesk(self, session) -> None:
        return None

    def tickets(self, requester: str) -> list[SeenTicket]:
        with Session(self.runtime.engine) as session:
            rows = session.exec(select(Ticket).where(Ticket.requester_email == requester).order_by(Ticket.id)).all()
            return [SeenTicket(str(t.id), t.subject, t.requester_email, t.group, t.status,
                               self._messages(session, t.id)) for t in rows]

    def _messages(self, session: Session, ticket_id: int) -> list[SeenMessage]:
        comments = session.exec(select(Comment).where(Comment.ticket_id == ticket_id, Comment.direction == "inbound")
                                .order_by(Comment.id)).all()
        seen = []
        for comment in comments:
            files = {a.filename: (self.runtime.settings.attachments_dir / a.path).read_bytes()
                     for a in session.exec(select(StoredAttachment).where(StoredAttachment.comment_id == comment.id))}
            seen.append(SeenMessage(comment.public, comment.body_text, comment.author_email, files))
        return seen

    def solve(self, remote_id: str) -> None:
        with Session(self.runtime.engine) as session:
            ticket = session.get(Ticket, int(remote_id))
            ticket.status = "solved"
            session.add(ticket)
            session.commit()

    def answer(self, remote_id: str, text: str, *, public: bool = True) -> ApiAnswer:
        return ApiAnswer(int(remote_id), text, not public, f"agent-{uuid.uuid4().hex}")

    def close(self) -> None:
        pass


def make_destination(tmp_path) -> BuiltinDestination:
    return BuiltinDestination()
