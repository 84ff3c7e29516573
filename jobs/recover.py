"""Recovering suspended mail: a person decided it is a real request, so it becomes a ticket."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from connector.inbound.intake import DEFAULT_GROUP
from connector.inbound.routing import pick_support_address
from connector.mail.decision import Arrival
from connector.mail.parse import parse_mail
from connector.mail.pipeline import RECOVERY_STEPS, decide
from connector.settings import Settings
from connector.store.addresses import support_routes
from connector.store.context import SqlMailContext
from connector.store.db import session_scope
from connector.store.models import Inbox, RawMail
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
        address, group = _route(session, raw)
        arrival = Arrival(source=raw.source, inbox_address=address, received_at_address=address,
                          group=group, received_at=raw.received_at,
                          gmail_id=raw.gmail_id, gmail_thread_id=raw.gmail_thread_id,
                          label_ids=tuple(x for x in raw.label_ids.split(",") if x))
        trace = decide(parse_mail(raw.raw), arrival, SqlMailContext(session), now(),
                       attachment_max_bytes=settings.attachment_max_bytes, steps=RECOVERY_STEPS)
        return apply_decision(session, raw, trace, settings.attachments_dir, now())


def _route(session: Session, raw: RawMail) -> tuple[str, str]:
    """(address, group) as on arrival: the Gmail inbox's, else the support address the mail was sent to."""
    inbox = session.get(Inbox, raw.inbox_id) if raw.inbox_id is not None else None
    if inbox is not None:
        return inbox.address, inbox.group
    # Forwarded mail came in by SMTP and has no inbox: route it the way the receiver did.
    known = support_routes(session)
    rcpts = [r for r in (raw.envelope_to or "").split(",") if r]
    address = pick_support_address(rcpts, raw.raw, known)
    if address is None:
        return (rcpts[0] if rcpts else ""), DEFAULT_GROUP
    return address, known[address]
