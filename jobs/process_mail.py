"""Turn stored raw mail into tickets: parse, decide, apply — one transaction per message.

Shared by Gmail sync and the SMTP receiver. A message that cannot be processed is not lost: it is
suspended with the error as its reason, and the raw bytes stay in the store.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import select

from connector.mail.decision import Arrival, Suspend
from connector.mail.model import ParsedMail
from connector.mail.parse import parse_mail
from connector.mail.pipeline import decide
from connector.store.context import SqlMailContext
from connector.store.db import session_scope
from connector.store.models import RawMail
from connector.store.tickets import apply_decision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """How mail reaching one address is routed: which inbox/support address, which group."""
    inbox_address: str
    received_at_address: str
    group: str


@dataclass
class Outcomes:
    created: int = 0
    commented: int = 0
    suspended: int = 0
    skipped: int = 0
    failed: int = 0

    def count(self, outcome: str) -> None:
        if outcome == "failed":
            self.failed += 1
        elif outcome.startswith("ticket") and "created" in outcome:
            self.created += 1
        elif outcome.startswith("suspended"):
            self.suspended += 1
        elif outcome.startswith("skipped"):
            self.skipped += 1
        else:
            self.commented += 1


def process_one(engine: Engine, raw_id: int, route: Route, attachments_dir: Path,
                attachment_max_bytes: int, now: Callable[[], datetime], parsed: ParsedMail | None = None) -> str:
    """Process one pending raw message in its own transaction; returns the outcome text."""
    try:
        with session_scope(engine) as session:
            # Locked: two daemons' receivers, or a stalled pass overtaken by a new lease holder,
            # must not both ticket the same stored message.
            row = session.get(RawMail, raw_id, with_for_update=True)
            if row is None or row.state != "pending":
                return "skipped: already processed"
            mail = parsed if parsed is not None else parse_mail(row.raw)
            arrival = Arrival(source=row.source, inbox_address=route.inbox_address,
                              received_at_address=route.received_at_address, group=route.group,
                              received_at=row.received_at, gmail_id=row.gmail_id,
                              gmail_thread_id=row.gmail_thread_id,
                              label_ids=tuple(x for x in row.label_ids.split(",") if x))
            trace = decide(mail, arrival, SqlMailContext(session), now(),
                           attachment_max_bytes=attachment_max_bytes)
            return apply_decision(session, row, trace, attachments_dir, now())
    except Exception as exc:  # noqa: BLE001 — one bad message must never stop the others
        log.exception("raw mail %s could not be processed", raw_id)
        return _hold_back(engine, raw_id, exc, attachments_dir, now)


def _hold_back(engine: Engine, raw_id: int, exc: Exception, attachments_dir: Path,
               now: Callable[[], datetime]) -> str:
    reason = f"could not be processed ({type(exc).__name__}: {str(exc)[:300]}); the raw message is kept"
    with session_scope(engine) as session:
        row = session.get(RawMail, raw_id)
        if row is None:
            return "failed"
        outcome = apply_decision(session, row, Suspend(reason=reason, kind="error"), attachments_dir, now())
        row.error = reason
        session.add(row)
        return outcome


def pending_ids(engine: Engine, inbox_id: int | None, source: str | None = None) -> list[int]:
    """Raw mail stored but not yet processed (a crash between storing and ticketing)."""
    with session_scope(engine) as session:
        query = select(RawMail.id).where(RawMail.state == "pending").order_by(RawMail.id)
        if inbox_id is not None:
            query = query.where(RawMail.inbox_id == inbox_id)
        if source is not None:
            query = query.where(RawMail.source == source)
        return list(session.exec(query))


def process_pending(engine: Engine, raw_ids: list[int], route: Route, attachments_dir: Path,
                    attachment_max_bytes: int, now: Callable[[], datetime]) -> Outcomes:
    outcomes = Outcomes()
    for raw_id in raw_ids:
        outcome = process_one(engine, raw_id, route, attachments_dir, attachment_max_bytes, now)
        log.info("raw mail %s: %s", raw_id, outcome)
        outcomes.count(outcome)
    return outcomes
