"""Missed webhook calls cost no answer: at start and every hour, mark recently active tickets to be read back.

A helpdesk's webhook call can be lost: the connector was restarting, the network dropped it, the
product gave up retrying (django-helpdesk never retries, and fails its own write when nobody
answers). So the tickets with activity in the last SWEEP_DAYS days are marked as a call would mark
them, and the replies job reads them back; each answer is still queued once, by its key.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import or_, select, update

from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.models import Ticket
from connector.store.types import utcnow

SWEEP_SECONDS = 3600
SWEEP_DAYS = 7


def sweep_agent_replies(runtime, *, now: Callable[[], datetime] = utcnow) -> int:
    """Mark the destination's recently active tickets; how many were marked."""
    helpdesk = runtime.helpdesk
    if helpdesk is None or not hasattr(helpdesk, "ticket_replies"):
        return 0                        # builtin, webhook and RT (polled) need no sweep
    at = now()
    recent = at - timedelta(days=SWEEP_DAYS)
    active = select(Ticket.id).where(Ticket.updated_at >= recent)
    with session_scope(runtime.engine) as session:
        return session.execute(update(HelpdeskTicket).where(
            HelpdeskTicket.destination == helpdesk.name, HelpdeskTicket.replies_wanted_at.is_(None),
            or_(HelpdeskTicket.created_at >= recent, HelpdeskTicket.ticket_id.in_(active)))
            .values(replies_wanted_at=at)).rowcount
