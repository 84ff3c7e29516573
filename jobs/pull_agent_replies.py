"""Agents' answers written in the helpdesk (RT) go out through Gmail: read them, queue them as replies, once.

Each answer is queued under its source key ("rt:txn-812") in the same transaction that moves the
cursor past it, so a crash anywhere either leaves both undone (read again, queued once) or both
done. The reply queue then sends it from the support address in the customer's Gmail thread,
with the Sent lookup before any retry (jobs/send_reply.py). An answer that cannot be sent (the
ticket has no requester, it is too large) becomes a private note on our ticket saying why.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlmodel import Session, select

from connector.helpdesk.port import AgentReply, HelpdeskError
from connector.outbound.compose import ReplyAttachment, ReplyError
from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskCursor, HelpdeskTicket
from connector.store.helpdesk_outbox import installation_key
from connector.store.outbound import queue_reply
from connector.store.types import utcnow

log = logging.getLogger(__name__)
_TICKET_KEY = re.compile(r"gmc-(?P<installation>[0-9a-f]+)-t(?P<ticket>\d+)")


@dataclass
class PullReport:
    queued: int = 0
    noted: int = 0                      # could not be sent: a private note says why
    skipped: int = 0                    # not one of our tickets
    error: str | None = None
    keys: list[str] = field(default_factory=list)


def pull_agent_replies(runtime, *, limit: int = 100, now: Callable[[], datetime] = utcnow) -> PullReport:
    """One round: the answers written since the last round, queued for sending."""
    report = PullReport()
    helpdesk = runtime.helpdesk
    if helpdesk is None or not hasattr(helpdesk, "agent_replies"):
        return report                   # builtin and webhook: answers arrive through the admin API
    destination = helpdesk.name
    with Session(runtime.engine.execution_options(sqlite_deferred=True)) as session:
        stored = session.get(HelpdeskCursor, destination)
        cursor = stored.cursor if stored is not None else None
    try:
        replies, after = helpdesk.agent_replies(cursor, limit)
    except HelpdeskError as exc:
        report.error = exc.reason
        log.warning("could not read agents' answers from %s: %s", destination, exc.reason)
        return report
    with session_scope(runtime.engine) as session:
        installation = installation_key(session)
        for reply in replies:
            _queue(session, runtime.settings, destination, installation, reply, now(), report)
        if after is not None and after != cursor:
            _save_cursor(session, destination, after, now())
    return report


def _queue(session: Session, settings, destination: str, installation: str, reply: AgentReply, at: datetime,
           report: PullReport) -> None:
    ticket_id = _our_ticket(session, destination, installation, reply)
    if ticket_id is None:
        report.skipped += 1
        return
    source = f"{destination}:{reply.key}"
    files = [ReplyAttachment(f.filename, f.content_type, f.payload) for f in reply.attachments]
    try:
        with session.begin_nested():
            queue_reply(session, ticket_id, reply.body_text, files, now=at, attachments_dir=settings.attachments_dir,
                        source_key=source)
        report.queued += 1
        report.keys.append(source)
    except ReplyError as exc:
        note = (f"{reply.author.name or reply.author.email} answered in {destination} ({reply.key}), "
                f"but the answer cannot be sent through Gmail: {exc}")
        queue_reply(session, ticket_id, note, private=True, now=at, attachments_dir=settings.attachments_dir,
                    source_key=source)
        report.noted += 1
        log.warning("ticket %s: %s", ticket_id, note)


def _our_ticket(session: Session, destination: str, installation: str, reply: AgentReply) -> int | None:
    linked = session.scalar(select(HelpdeskTicket.ticket_id).where(
        HelpdeskTicket.destination == destination, HelpdeskTicket.remote_id == reply.remote_ticket_id))
    if linked is not None:
        return linked
    # Linked by its key but not (yet) by our record: the ticket was opened by an attempt that crashed.
    found = _TICKET_KEY.fullmatch(reply.ticket_key or "")
    if found and found["installation"] == installation:
        return int(found["ticket"])
    return None


def _save_cursor(session: Session, destination: str, cursor: str, at: datetime) -> None:
    row = session.get(HelpdeskCursor, destination)
    if row is None:
        row = HelpdeskCursor(destination=destination, cursor=cursor, updated_at=at)
    row.cursor, row.updated_at = cursor, at
    session.add(row)
