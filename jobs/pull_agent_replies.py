"""Agents' answers written in the helpdesk go out through Gmail: read them, queue them as replies, once.

Two ways in. RT is polled: the answers after a stored cursor are queued in the same transaction
that moves the cursor past them, so a crash either leaves both undone (read again, queued once)
or both done. The other helpdesks call POST /helpdesk/events when agents write, which marks the
ticket (`replies_wanted_at`); this job reads the marked tickets' answers back through the API and
clears the mark in the transaction that queues them, unless a newer call marked it meanwhile.
The reply queue then sends each answer from the support address in the customer's Gmail thread,
with the Sent lookup before any retry (jobs/send_reply.py).
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import update
from sqlmodel import Session, select

from connector.helpdesk.port import HelpdeskError
from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskCursor, HelpdeskTicket
from connector.store.helpdesk_outbox import installation_key
from connector.store.types import utcnow
from jobs.agent_replies import PullReport, queue_answer

log = logging.getLogger(__name__)
TICKETS_PER_ROUND = 50


def pull_agent_replies(runtime, *, limit: int = 100, now: Callable[[], datetime] = utcnow) -> PullReport:
    """One round: the answers written since the last round, queued for sending."""
    report = PullReport()
    helpdesk = runtime.helpdesk
    if helpdesk is None:
        return report                   # builtin: answers arrive through the admin API
    if hasattr(helpdesk, "agent_replies"):
        _poll(runtime, helpdesk, limit, now, report)
    if hasattr(helpdesk, "ticket_replies"):
        _read_marked(runtime, helpdesk, now, report)
    return report


def _poll(runtime, helpdesk, limit: int, now: Callable[[], datetime], report: PullReport) -> None:
    destination = helpdesk.name
    with Session(runtime.engine.execution_options(sqlite_deferred=True)) as session:
        stored = session.get(HelpdeskCursor, destination)
        cursor = stored.cursor if stored is not None else None
    try:
        replies, after = helpdesk.agent_replies(cursor, limit)
    except HelpdeskError as exc:
        report.error = exc.reason
        log.warning("could not read agents' answers from %s: %s", destination, exc.reason)
        return
    with session_scope(runtime.engine) as session:
        installation = installation_key(session)
        for reply in replies:
            queue_answer(session, runtime.settings, destination, installation, reply, now(), report)
        if after is not None and after != cursor:
            _save_cursor(session, destination, after, now())


def _read_marked(runtime, helpdesk, now: Callable[[], datetime], report: PullReport) -> None:
    destination = helpdesk.name
    with Session(runtime.engine.execution_options(sqlite_deferred=True)) as session:
        marked = session.exec(select(HelpdeskTicket).where(
            HelpdeskTicket.destination == destination, HelpdeskTicket.replies_wanted_at.is_not(None))
            # Newest marks first: a webhook call just made is read before an hourly sweep's backlog.
            .order_by(HelpdeskTicket.replies_wanted_at.desc()).limit(TICKETS_PER_ROUND)).all()
        marked = [(row.id, row.ticket_id, row.remote_id, row.created_at, row.replies_wanted_at) for row in marked]
    for link_id, ticket_id, remote_id, linked_at, wanted_at in marked:
        try:
            replies = helpdesk.ticket_replies(remote_id, linked_at)
        except HelpdeskError as exc:    # the mark stays: read again next round
            report.error = exc.reason
            log.warning("could not read agents' answers on %s ticket %s: %s", destination, remote_id, exc.reason)
            continue
        with session_scope(runtime.engine) as session:
            installation = installation_key(session)
            for reply in replies:
                queue_answer(session, runtime.settings, destination, installation, reply, now(), report,
                             ticket_id=ticket_id)
            # Cleared only if no call marked it again while we read: that call's answer may be newer.
            session.execute(update(HelpdeskTicket).where(HelpdeskTicket.id == link_id,
                                                         HelpdeskTicket.replies_wanted_at == wanted_at)
                            .values(replies_wanted_at=None))
        report.tickets_read += 1


def _save_cursor(session: Session, destination: str, cursor: str, at: datetime) -> None:
    row = session.get(HelpdeskCursor, destination)
    if row is None:
        row = HelpdeskCursor(destination=destination, cursor=cursor, updated_at=at)
    row.cursor, row.updated_at = cursor, at
    session.add(row)
