"""What the receiver does with mail: check recipients, store the raw bytes as received, then ticket them."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Iterable

from connector.mail.outcome import Outcome
from connector.store.addresses import find_address
from connector.store.db import session_scope
from connector.store.raw import store_raw
from connector.store.types import utcnow
from connector.ticketing.ticket_mail import Ticketing, pending_ids, ticket_stored_mail

log = logging.getLogger(__name__)


class Intake:
    """The receiver's work, kept out of the SMTP protocol code so it runs in worker threads."""

    def __init__(self, runtime, now: Callable[[], datetime] = utcnow):
        # `runtime` needs only .engine and .ticketing: the composition root's Runtime, or a test's.
        self.engine = runtime.engine
        self.ticketing: Ticketing = runtime.ticketing
        self.now = now

    def is_support_address(self, address: str) -> bool:
        with session_scope(self.engine.execution_options(sqlite_deferred=True)) as session:
            row = find_address(session, address)
            return row is not None and row.support_address == address.strip().lower()

    def store(self, mail_from: str | None, rcpt_tos: Iterable[str], raw: bytes) -> int:
        """Store the message exactly as received and commit: only then may we answer 250.

        Nothing of the message is read here: reading hostile mail must never delay or fail the answer."""
        with session_scope(self.engine) as session:
            row = store_raw(session, "smtp", raw, envelope_from=mail_from or "",
                            envelope_to=[r.lower() for r in rcpt_tos], received_at=self.now())
            assert row is not None  # only Gmail ids can collide
            return int(row.id)

    def process(self, raw_id: int) -> Outcome:
        """Ticket one stored message (or attach it to a forwarding setup); never raises for the mail's content."""
        outcome = ticket_stored_mail(self.ticketing, raw_id)
        log.info("smtp raw mail %s: %s", raw_id, outcome)
        return outcome

    def pending(self) -> list[int]:
        """Mail stored by an earlier run but not processed (stopped between 250 and ticketing)."""
        return pending_ids(self.engine, source="smtp")
