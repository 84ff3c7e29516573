"""`retry_pending_smtp`: the periodic job that tickets received mail a failed or interrupted pass left pending."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlmodel import select

from connector.bootstrap import Runtime
from connector.inbound.intake import Intake
from connector.store.db import session_scope
from connector.store.models import RawMail
from connector.store.types import utcnow

log = logging.getLogger(__name__)
# Younger mail is most likely still queued for the receiver's own worker; leave it to that worker.
RETRY_AFTER = timedelta(minutes=1)


def retry_pending_smtp(runtime: Runtime, now: Callable[[], datetime] = utcnow, limit: int = 500) -> int:
    """Process SMTP mail left pending for over RETRY_AFTER; the number processed. Schedule every 60 s.

    Safe beside the receiver: processing locks the stored row and skips what is no longer pending."""
    intake, done = Intake(runtime, now), 0
    for raw_id in stale_pending(runtime, now() - RETRY_AFTER, limit):
        try:
            outcome = intake.process(raw_id)
        except Exception:  # noqa: BLE001 — still pending; the next run tries again
            log.exception("smtp raw mail %s is still pending: processing failed again", raw_id)
            continue
        log.info("smtp raw mail %s retried: %s", raw_id, outcome)
        done += 1
    return done


def stale_pending(runtime: Runtime, received_before: datetime, limit: int) -> list[int]:
    with session_scope(runtime.engine) as session:
        query = (select(RawMail.id).where(RawMail.source == "smtp", RawMail.state == "pending",
                                          RawMail.received_at < received_before)
                 .order_by(RawMail.id).limit(limit))
        return list(session.exec(query))
