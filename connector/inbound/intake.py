"""What the receiver does with mail: check recipients, store the raw bytes, then ticket them."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Iterable

from connector.bootstrap import Runtime
from connector.mail.parse import parse_mail
from connector.store.addresses import find_address, support_routes
from connector.store.db import session_scope
from connector.store.models import RawMail
from connector.store.raw import store_raw
from connector.store.types import utcnow
from connector.inbound.routing import pick_support_address
from connector.inbound.forwarding_mail import attach_forwarding_mail
from jobs.process_mail import Route, pending_ids, process_one

log = logging.getLogger(__name__)
DEFAULT_GROUP = "Support"


class Intake:
    """The receiver's work, kept out of the SMTP protocol code so it runs in worker threads."""

    def __init__(self, runtime: Runtime, now: Callable[[], datetime] = utcnow):
        self.runtime, self.now = runtime, now

    def is_support_address(self, address: str) -> bool:
        with session_scope(self.runtime.engine) as session:
            row = find_address(session, address)
            return row is not None and row.support_address == address.strip().lower()

    def store(self, mail_from: str | None, rcpt_tos: Iterable[str], raw: bytes) -> int:
        """Store the message exactly as received and commit: only then may we answer 250."""
        try:
            mail = parse_mail(raw)
            meta = {"message_id": mail.message_id, "from_email": mail.from_.email, "subject": mail.subject[:500]}
        except Exception:  # noqa: BLE001 — unparseable mail is still accepted, kept, and held back later
            log.warning("received mail could not be parsed before storing; storing it as it is")
            meta = {}
        with session_scope(self.runtime.engine) as session:
            row = store_raw(session, "smtp", raw, envelope_from=mail_from or "",
                            envelope_to=[r.lower() for r in rcpt_tos], received_at=self.now(), **meta)
            assert row is not None  # only Gmail ids can collide
            return int(row.id)

    def route(self, raw_id: int) -> Route:
        with session_scope(self.runtime.engine) as session:
            row = session.get(RawMail, raw_id)
            known = support_routes(session)
        rcpts = [r for r in (row.envelope_to or "").split(",") if r]
        address = pick_support_address(rcpts, row.raw, known)
        if address is None:
            # The address was removed between RCPT and processing: keep the mail, ticket it generally.
            address = rcpts[0] if rcpts else ""
            return Route(inbox_address=address, received_at_address=address, group=DEFAULT_GROUP)
        return Route(inbox_address=address, received_at_address=address, group=known[address])

    def process(self, raw_id: int) -> str:
        """Ticket one stored message (or attach it to a forwarding setup); never raises."""
        settings = self.runtime.settings
        try:
            route = self.route(raw_id)
            outcome = attach_forwarding_mail(self.runtime.engine, raw_id, route, self.now)
        except Exception:  # noqa: BLE001 — process_one below still holds the message back safely
            log.exception("routing raw mail %s failed", raw_id)
            route, outcome = Route("", "", DEFAULT_GROUP), None
        if outcome is None:
            outcome = process_one(self.runtime.engine, raw_id, route, settings.attachments_dir,
                                  settings.attachment_max_bytes, self.now)
        log.info("smtp raw mail %s: %s", raw_id, outcome)
        return outcome

    def pending(self) -> list[int]:
        """Mail stored by an earlier run but not processed (stopped between 250 and ticketing)."""
        return pending_ids(self.runtime.engine, None, source="smtp")
