"""Set aside forwarding mail (Google's confirmation, our test mail) before the ticket pipeline runs.

The pipeline's first step recognises it; until `apply_decision` knows that decision, the receiver
applies it here and hands every other message to `jobs.process_mail.process_one` unchanged.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine

from connector.mail.decision import Arrival, ForwardingMail
from connector.mail.parse import parse_mail
from connector.mail.steps.draft import Draft
from connector.mail.steps.forwarding_mail import recognise_forwarding_mail
from connector.store.addresses import apply_forwarding_mail
from connector.store.context import SqlMailContext
from connector.store.db import session_scope
from connector.store.models import RawMail
from jobs.process_mail import Route


def attach_forwarding_mail(engine: Engine, raw_id: int, route: Route, now: Callable[[], datetime]) -> str | None:
    """The outcome when the stored message was forwarding mail and is now attached; else None."""
    with session_scope(engine) as session:
        row = session.get(RawMail, raw_id)
        if row is None or row.state != "pending":
            return None
        try:
            mail = parse_mail(row.raw)
        except Exception:  # noqa: BLE001 — the ticket pipeline holds unparseable mail back with the error
            return None
        arrival = Arrival(source=row.source, inbox_address=route.inbox_address,
                          received_at_address=route.received_at_address, group=route.group,
                          received_at=row.received_at)
        draft = Draft(mail=mail, arrival=arrival, ctx=SqlMailContext(session), now=now(), attachment_max_bytes=0)
        decision = recognise_forwarding_mail(draft)
        if not isinstance(decision, ForwardingMail):
            return None
        return apply_forwarding_mail(session, row, decision, now())
