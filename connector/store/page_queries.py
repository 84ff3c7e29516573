"""Read-only queries behind the dashboard's inbox, ticket and search pages: one inbox or ticket at a time."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from connector.store.consent_models import ServiceAccountKey
from connector.store.fetch_failure_models import FetchFailure
from connector.store.helpdesk_models import HelpdeskEvent, HelpdeskTicket
from connector.store.lease_models import InboxLease
from connector.store.models import Comment, Credential, Inbox, RawMail, StoredAttachment, Ticket
from connector.store.outbound_models import OutgoingMail
from connector.store.push_models import PushWatch
from connector.store.types import iso_utc

SEARCH_LIMIT = 50
FETCH_FAILURES_SHOWN = 20


def recent_ticket_rows(session: Session, limit: int) -> list[dict[str, Any]]:
    """The newest tickets with their group and flags (by primary key: no count over every ticket)."""
    query = (select(Ticket, Inbox.address).outerjoin(Inbox, Inbox.id == Ticket.inbox_id)
             .order_by(Ticket.id.desc()).limit(limit))
    rows = [_ticket_row(ticket, address) for ticket, address in session.exec(query)]
    by_id = {row["id"]: row for row in rows}
    if by_id:
        links = session.exec(select(HelpdeskTicket).where(HelpdeskTicket.ticket_id.in_(list(by_id)))
                             .order_by(HelpdeskTicket.id))
        for link in links:
            by_id[link.ticket_id]["helpdesk"].append({"destination": link.destination, "id": link.remote_id,
                                                      "url": link.url})
    return rows


def _ticket_row(ticket: Ticket, address: str | None) -> dict[str, Any]:
    return {"id": ticket.id, "subject": ticket.subject, "status": ticket.status, "inbox": address,
            "group": ticket.group, "flags": [f for f in ticket.flags.split(",") if f],
            "requester": {"name": ticket.requester_name, "email": ticket.requester_email},
            "created_at": iso_utc(ticket.created_at), "updated_at": iso_utc(ticket.updated_at), "helpdesk": []}


def inbox_page_data(session: Session, address: str) -> dict[str, Any] | None:
    """One inbox with its lease, push watch and the messages Gmail would not return; None if unknown."""
    inbox = session.exec(select(Inbox).where(Inbox.address == address.strip().lower())).first()
    if inbox is None:
        return None
    lease = session.get(InboxLease, inbox.id)
    watch = session.exec(select(PushWatch).where(PushWatch.inbox_id == inbox.id)).first()
    failures = session.exec(select(FetchFailure).where(FetchFailure.inbox_id == inbox.id)
                            .order_by(FetchFailure.last_failed_at.desc()).limit(FETCH_FAILURES_SHOWN)).all()
    tickets = session.exec(select(func.count()).select_from(Ticket).where(Ticket.inbox_id == inbox.id)).one()
    # A Workspace inbox may hold no grant of its own and borrow its domain's service-account key.
    has_credential = session.exec(select(Credential.id).where(Credential.inbox_id == inbox.id)).first() is not None or (
        inbox.credential_kind == "service_account" and session.exec(select(ServiceAccountKey.domain).where(
            ServiceAccountKey.domain == inbox.address.rpartition("@")[2])).first() is not None)
    return {"inbox": inbox, "lease": lease if lease is not None and lease.holder else None, "watch": watch,
            "fetch_failures": list(failures), "tickets": int(tickets), "has_credential": has_credential}


def ticket_page_data(session: Session, ticket_id: int) -> dict[str, Any] | None:
    """A ticket, its comments (oldest first) with attachments and source mail, its replies and helpdesk state."""
    found = session.exec(select(Ticket, Inbox.address).outerjoin(Inbox, Inbox.id == Ticket.inbox_id)
                         .where(Ticket.id == ticket_id)).first()
    if found is None:
        return None
    ticket, address = found
    comments = session.exec(select(Comment).where(Comment.ticket_id == ticket_id)
                            .order_by(Comment.created_at, Comment.id)).all()
    attachments: dict[int, list[StoredAttachment]] = {}
    if comments:
        for row in session.exec(select(StoredAttachment).where(StoredAttachment.comment_id.in_([c.id for c in comments]))
                                .order_by(StoredAttachment.id)):
            attachments.setdefault(row.comment_id, []).append(row)
    raw_ids = [c.raw_mail_id for c in comments if c.raw_mail_id is not None]
    # Only the columns the page shows: the stored bytes of each mail stay in the database.
    arrivals = {row[0]: row[1:] for row in session.exec(
        select(RawMail.id, RawMail.internal_date, RawMail.received_at, RawMail.source).where(RawMail.id.in_(raw_ids)))
    } if raw_ids else {}
    replies = session.exec(select(OutgoingMail).where(OutgoingMail.ticket_id == ticket_id)
                           .order_by(OutgoingMail.created_at, OutgoingMail.id)).all()
    events = session.exec(select(HelpdeskEvent).where(HelpdeskEvent.ticket_id == ticket_id)
                          .order_by(HelpdeskEvent.id)).all()
    links = session.exec(select(HelpdeskTicket).where(HelpdeskTicket.ticket_id == ticket_id)
                         .order_by(HelpdeskTicket.id)).all()
    return {"ticket": ticket, "inbox": address, "comments": list(comments), "attachments": attachments,
            "arrivals": arrivals, "replies": [(reply, _attachment_names(reply)) for reply in replies],
            "events": list(events), "links": list(links)}


def _attachment_names(reply: OutgoingMail) -> list[str]:
    try:
        files = json.loads(reply.attachments or "[]")
    except ValueError:
        return []
    return [str(f.get("filename", "")) for f in files if isinstance(f, dict)]


def search(session: Session, q: str, limit: int = SEARCH_LIMIT) -> dict[str, list]:
    """Inboxes by address or group, tickets by number, subject or requester; at most `limit` of each."""
    q = q.strip()
    if not q:
        return {"inboxes": [], "tickets": []}
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    inboxes = session.exec(select(Inbox).where(or_(Inbox.address.like(pattern, escape="\\"),
                                                   func.lower(Inbox.group).like(pattern, escape="\\")))
                           .order_by(Inbox.address).limit(limit)).all()
    matches = [func.lower(Ticket.subject).like(pattern, escape="\\"), Ticket.requester_email.like(pattern, escape="\\"),
               func.lower(Ticket.requester_name).like(pattern, escape="\\")]
    number = q.removeprefix("#")
    if number.isdigit() and len(number) <= 9:
        matches.append(Ticket.id == int(number))
    tickets = session.exec(select(Ticket, Inbox.address).outerjoin(Inbox, Inbox.id == Ticket.inbox_id)
                           .where(or_(*matches)).order_by(Ticket.id.desc()).limit(limit)).all()
    return {"inboxes": list(inboxes), "tickets": [_ticket_row(t, address) for t, address in tickets]}


def seconds_between(later: datetime | None, earlier: datetime | None) -> float | None:
    return None if later is None or earlier is None else max(0.0, (later - earlier).total_seconds())
