"""The status views' SQL: inbox totals in one GROUP BY, indexed counts, and keyset pages of the three lists."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, false, func, literal, or_, union_all
from sqlalchemy import select as sa_select     # sqlmodel's select of one column yields scalars, not rows
from sqlmodel import Session, select

from connector.store.consent_models import ServiceAccountKey
from connector.store.lease_models import InboxLease
from connector.store.models import Comment, Credential, Inbox, RawMail, SuspendedMail, Ticket
from connector.store.outbound_models import OutgoingMail

@dataclass(frozen=True)
class InboxFilter:
    state: str | None = None          # the inbox's own state column
    credential: str | None = None     # ok | needs_reauth | error, as the status shows it
    attention: bool = False           # credential not ok: what an operator has to act on
    q: str | None = None              # part of the address or group, any case


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    inbox: str | None = None          # the address that received it
    q: str | None = None              # part of the subject or the requester's name or address


@dataclass(frozen=True)
class SuspendedFilter:
    state: str = "suspended"
    kind: str | None = None
    q: str | None = None              # part of the sender, subject or reason


def with_credentials(query):
    """`query` over inboxes joined to what lets each authenticate, and the SQL for "it can": a grant of its
    own, or (Workspace) its domain's service-account key. Joins, not EXISTS per row: both match at most one
    row (a grant per inbox, a key per domain), and a scan of every inbox then reads each table once."""
    # Exact suffix match ("@" + domain), not LIKE: a domain's characters are never wildcards.
    tail = func.substr(Inbox.address, func.length(Inbox.address) - func.length(ServiceAccountKey.domain))
    query = (query.outerjoin(Credential, Credential.inbox_id == Inbox.id)
             .outerjoin(ServiceAccountKey, and_(Inbox.credential_kind == "service_account",
                                                tail == literal("@") + ServiceAccountKey.domain)))
    return query, or_(Credential.id.is_not(None), ServiceAccountKey.id.is_not(None))


def needs_reauth(credential):
    """The same rule as `credential_state` in connector.admin.status_pages, as SQL."""
    return or_(Inbox.state == "needs_reauth", ~credential)


def failing():
    # A failure newer than the last success (or the error state) with a message to show.
    return and_(or_(Inbox.consecutive_failures > 0, Inbox.state == "error"),
                Inbox.last_error.is_not(None), Inbox.last_error != "")


def inbox_totals(session: Session) -> dict[str, dict[str, int]]:
    """Per inbox state: how many inboxes, how many need consent, need attention, and their imports, in one scan."""
    query, credential = with_credentials(sa_select(Inbox.state).select_from(Inbox))
    reauth = needs_reauth(credential)
    attention = or_(reauth, failing())
    query = query.add_columns(func.count(), func.sum(case((reauth, 1), else_=0)),
                              func.sum(case((attention, 1), else_=0)),
                              func.coalesce(func.sum(Inbox.imported_total), 0)).group_by(Inbox.state)
    return {state: {"inboxes": int(n), "needs_reauth": int(r or 0), "attention": int(a or 0),
                    "imported_total": int(imported or 0)} for state, n, r, a, imported in session.exec(query)}


def section_counts(session: Session, since: datetime) -> dict[str, dict[str, int]]:
    """Held-back mail by kind, tickets by status, outgoing mail by state, and raw mail since `since`
    ("recent"/"all"): four indexed counts in one statement, so one round trip to the database, not four."""
    parts = (
        sa_select(literal("suspended"), SuspendedMail.kind, func.count())
        .where(SuspendedMail.state == "suspended").group_by(SuspendedMail.kind),
        sa_select(literal("tickets"), Ticket.status, func.count()).group_by(Ticket.status),
        sa_select(literal("outgoing"), OutgoingMail.state, func.count()).group_by(OutgoingMail.state),
        sa_select(literal("recent"), literal("all"), func.count()).select_from(RawMail)
        .where(RawMail.received_at >= since, RawMail.inbox_id.is_not(None)),
    )
    counts: dict[str, dict[str, int]] = {"suspended": {}, "tickets": {}, "outgoing": {}, "recent": {}}
    for section, key, n in session.execute(union_all(*parts)):
        counts[section][key] = int(n)
    return counts


def _contains(column, q: str):
    # No stored text holds a NUL (PostgreSQL refuses one even as a parameter): such a search finds nothing.
    return false() if "\x00" in q else func.lower(column).contains(q.lower(), autoescape=True)


def _equals(column, value: str):
    return false() if "\x00" in value else column == value


class Lease(NamedTuple):
    holder: str
    acquired_at: datetime | None
    expires_at: datetime | None


class InboxRow(NamedTuple):
    inbox: Any                        # the inbox's columns, read as attributes like an Inbox
    has_credential: bool
    recent: int                       # raw mail received since the `since` given
    lease: Lease | None               # None when no daemon holds it


def inbox_rows(session: Session, filters: InboxFilter, after: str | None, limit: int | None,
               since: datetime) -> list[InboxRow]:
    """Up to `limit` inboxes by address after `after` (keyset: the address index, never OFFSET), each with
    its credential, its mail since `since` and its lease in the same statement: one round trip per page."""
    # Counted per row through ix_raw_mails_inbox_id_received_at: a page costs its own rows, not the table.
    recent = (select(func.count()).select_from(RawMail)
              .where(RawMail.inbox_id == Inbox.id, RawMail.received_at >= since).scalar_subquery())
    query, credential = with_credentials(sa_select(Inbox.__table__).select_from(Inbox))
    # Plain columns, not ORM objects: a page is read, never changed, and objects cost more than the query.
    query = (query.add_columns(credential.label("has_credential"), recent.label("recent"),
                               InboxLease.holder.label("lease_holder"), InboxLease.acquired_at.label("lease_since"),
                               InboxLease.expires_at.label("lease_expires"))
             .outerjoin(InboxLease, and_(InboxLease.inbox_id == Inbox.id, InboxLease.holder.is_not(None)))
             .order_by(Inbox.address).limit(limit))
    if after is not None:
        query = query.where(Inbox.address > after)
    if filters.state:
        query = query.where(_equals(Inbox.state, filters.state))
    reauth = needs_reauth(credential)
    if filters.attention:
        query = query.where(or_(reauth, failing()))
    if filters.credential == "needs_reauth":
        query = query.where(reauth)
    elif filters.credential == "error":
        query = query.where(~reauth, failing())
    elif filters.credential == "ok":
        query = query.where(~reauth, ~failing())
    if filters.q:
        query = query.where(or_(_contains(Inbox.address, filters.q), _contains(Inbox.group, filters.q)))
    return [InboxRow(row, bool(row.has_credential), int(row.recent or 0),
                     Lease(row.lease_holder, row.lease_since, row.lease_expires) if row.lease_holder else None)
            for row in session.exec(query)]


def ticket_rows_page(session: Session, filters: TicketFilter, before_id: int | None,
                     limit: int) -> list[tuple[Ticket, str | None, int]]:
    """Up to `limit` (ticket, inbox address, comment count), newest first, older than `before_id` (keyset
    on the primary key); comments are counted for these rows only, through comments.ticket_id."""
    comments = select(func.count()).select_from(Comment).where(Comment.ticket_id == Ticket.id).scalar_subquery()
    query = (select(Ticket, Inbox.address, comments).outerjoin(Inbox, Inbox.id == Ticket.inbox_id)
             .order_by(Ticket.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(Ticket.id < before_id)
    if filters.status:
        query = query.where(_equals(Ticket.status, filters.status))
    if filters.inbox:
        query = query.where(_equals(Inbox.address, filters.inbox.strip().lower()))
    if filters.q:
        query = query.where(or_(_contains(Ticket.subject, filters.q), _contains(Ticket.requester_email, filters.q),
                                _contains(Ticket.requester_name, filters.q)))
    return [(ticket, address, int(count or 0)) for ticket, address, count in session.exec(query)]


def suspended_rows_page(session: Session, filters: SuspendedFilter, after: tuple[datetime, int | None] | None,
                        limit: int) -> list[SuspendedMail]:
    """Up to `limit` held-back mails, newest first, after the (received_at, id) of the last one shown
    (an id of None: after every mail of that instant)."""
    query = (select(SuspendedMail).where(SuspendedMail.state == filters.state)
             .order_by(SuspendedMail.received_at.desc(), SuspendedMail.id.desc()).limit(limit))
    if after is not None:
        at, last_id = after
        query = query.where(SuspendedMail.received_at <= at if last_id is None else
                            or_(SuspendedMail.received_at < at,
                                and_(SuspendedMail.received_at == at, SuspendedMail.id < last_id)))
    if filters.kind:
        query = query.where(_equals(SuspendedMail.kind, filters.kind))
    if filters.q:
        query = query.where(or_(*(_contains(column, filters.q) for column in
                                  (SuspendedMail.from_email, SuspendedMail.subject, SuspendedMail.reason))))
    return list(session.exec(query))


def inbox_metric_rows(session: Session) -> list[tuple[int, str, str, int, datetime | None]]:
    """(id, address, state, imported_total, last_success_at) of every inbox: plain rows, no ORM objects,
    because /metrics reports each inbox and building 1,000 objects per scrape is its largest cost."""
    query = select(Inbox.id, Inbox.address, Inbox.state, Inbox.imported_total, Inbox.last_success_at
                   ).order_by(Inbox.address)
    return [tuple(row) for row in session.exec(query)]
