"""Queue agents' answers read from a helpdesk as replies to send through Gmail, once per answer.

Shared by both ways answers arrive: polled from the helpdesk (RT) and read back after the
helpdesk's webhook said a ticket changed (Zendesk, Zammad, Freshdesk, FreeScout, django-helpdesk).
Each answer is queued under its source key ("zendesk:comment-812"), so reading it again, after a
crash or a replayed webhook, queues nothing new. An answer that cannot be sent (no requester, too
large) becomes a private note on our ticket saying why.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from connector.helpdesk.port import AgentReply
from connector.outbound.compose import ReplyAttachment, ReplyError
from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.outbound import queue_reply
from connector.store.outbound_models import OutgoingMail

log = logging.getLogger(__name__)
_TICKET_KEY = re.compile(r"gmc-(?P<installation>[0-9a-f]+)-t(?P<ticket>\d+)")


@dataclass
class PullReport:
    queued: int = 0
    noted: int = 0                      # could not be sent: a private note says why
    skipped: int = 0                    # not one of our tickets
    already: int = 0                    # read again (a replayed call, a sweep): queued before, nothing new
    tickets_read: int = 0               # tickets read back after the helpdesk's webhook
    error: str | None = None
    keys: list[str] = field(default_factory=list)


def queue_answer(session: Session, settings, destination: str, installation: str, reply: AgentReply,
                 at: datetime, report: PullReport, ticket_id: int | None = None) -> None:
    """Queue one answer (not committed here); `ticket_id` when the caller knows our ticket already."""
    ticket_id = ticket_id or our_ticket(session, destination, installation, reply)
    if ticket_id is None:
        report.skipped += 1
        return
    source = f"{destination}:{reply.key}"
    if session.scalar(select(OutgoingMail.id).where(OutgoingMail.source_key == source)) is not None:
        report.already += 1
        return
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


def our_ticket(session: Session, destination: str, installation: str, reply: AgentReply) -> int | None:
    linked = session.scalar(select(HelpdeskTicket.ticket_id).where(
        HelpdeskTicket.destination == destination, HelpdeskTicket.remote_id == reply.remote_ticket_id))
    if linked is not None:
        return linked
    # Linked by its key but not (yet) by our record: the ticket was opened by an attempt that crashed.
    found = _TICKET_KEY.fullmatch(reply.ticket_key or "")
    if found and found["installation"] == installation:
        return int(found["ticket"])
    return None
