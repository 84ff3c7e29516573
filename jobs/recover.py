"""Recovering suspended mail: a person decided it is a real request, so it becomes a ticket."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine

from connector.mail.decision import Arrival
from connector.mail.parse import parse_mail
from connector.mail.pipeline import RECOVERY_STEPS, decide
from connector.settings import Settings
from connector.store.context import SqlMailContext
from connector.store.db import session_scope
from connector.store.models import Inbox
from connector.store.suspended import recover_suspended
from connector.store.tickets import apply_decision
from connector.store.types import utcnow


def recover(engine: Engine, settings: Settings, suspended_id: int,
            now: Callable[[], datetime] = utcnow) -> str | None:
    """Re-run the pipeline without its hold-back steps; None if nothing is suspended under that id."""
    with session_scope(engine) as session:
        raw = recover_suspended(session, suspended_id)
        if raw is None:
            return None
        inbox = session.get(Inbox, raw.inbox_id) if raw.inbox_id is not None else None
        address = inbox.address if inbox else (raw.envelope_to.split(",")[0] if raw.envelope_to else "")
        arrival = Arrival(source=raw.source, inbox_address=address, received_at_address=address,
                          group=inbox.group if inbox else "Support", received_at=raw.received_at,
                          gmail_id=raw.gmail_id, gmail_thread_id=raw.gmail_thread_id,
                          label_ids=tuple(x for x in raw.label_ids.split(",") if x))
        trace = decide(parse_mail(raw.raw), arrival, SqlMailContext(session), now(),
                       attachment_max_bytes=settings.attachment_max_bytes, steps=RECOVERY_STEPS)
        return apply_decision(session, raw, trace, settings.attachments_dir, now())
