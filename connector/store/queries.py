"""Tickets as plain JSON-ready dicts, for `tickets list/show --json` and the status views."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.models import Comment, Inbox, StoredAttachment, Ticket
from connector.store.types import iso_utc


def ticket_rows(session: Session) -> list[dict]:
    """Every ticket, newest first, with its comment count."""
    counts = (select(Comment.ticket_id, func.count(Comment.id).label("n"))
              .group_by(Comment.ticket_id).subquery())
    query = (select(Ticket, Inbox.address, func.coalesce(counts.c.n, 0))
             .outerjoin(Inbox, Inbox.id == Ticket.inbox_id)
             .outerjoin(counts, counts.c.ticket_id == Ticket.id)
             .order_by(Ticket.id.desc()))
    return [ticket_json(ticket, address, count) for ticket, address, count in session.exec(query)]


def ticket_detail(session: Session, ticket_id: int) -> dict | None:
    """One ticket with its comments (oldest first) and their attachments; None if unknown."""
    found = session.exec(select(Ticket, Inbox.address).outerjoin(Inbox, Inbox.id == Ticket.inbox_id)
                         .where(Ticket.id == ticket_id)).first()
    if found is None:
        return None
    ticket, address = found
    comments = session.exec(select(Comment).where(Comment.ticket_id == ticket_id)
                            .order_by(Comment.created_at, Comment.id)).all()
    attachments = _attachments_by_comment(session, [c.id for c in comments])
    detail = ticket_json(ticket, address, len(comments))
    detail["comments"] = [_comment_json(c, attachments.get(c.id, [])) for c in comments]
    detail["helpdesk"] = [{"destination": link.destination, "id": link.remote_id, "url": link.url}
                          for link in session.exec(select(HelpdeskTicket).where(HelpdeskTicket.ticket_id == ticket_id)
                                                   .order_by(HelpdeskTicket.id))]
    return detail


def _attachments_by_comment(session: Session, comment_ids: list[int]) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = {}
    if not comment_ids:
        return grouped
    rows = session.exec(select(StoredAttachment).where(StoredAttachment.comment_id.in_(comment_ids))
                        .order_by(StoredAttachment.id))
    for row in rows:
        grouped.setdefault(row.comment_id, []).append({
            "filename": row.filename, "content_type": row.content_type, "size": row.size,
            "sha256": row.sha256, "content_id": row.content_id, "inline": row.inline})
    return grouped


def ticket_json(ticket: Ticket, inbox_address: str | None, comment_count: int) -> dict:
    return {
        "id": ticket.id, "subject": ticket.subject, "status": ticket.status,
        "requester": {"name": ticket.requester_name, "email": ticket.requester_email},
        "group": ticket.group, "inbox": inbox_address, "received_at_address": ticket.received_at_address,
        "comment_count": int(comment_count), "flags": [f for f in ticket.flags.split(",") if f],
        "created_at": iso_utc(ticket.created_at), "updated_at": iso_utc(ticket.updated_at),
    }


def _comment_json(comment: Comment, attachments: list[dict]) -> dict:
    return {
        "id": comment.id, "author": {"name": comment.author_name, "email": comment.author_email},
        "public": comment.public, "message_id": comment.message_id, "body_text": comment.body_text,
        "attachments": attachments, "created_at": iso_utc(comment.created_at),
    }
