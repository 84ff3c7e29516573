"""`retry_pending_smtp`: the periodic job that tickets received mail a failed or interrupted pass left pending."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from connector.store.types import utcnow
from connector.ticketing.ticket_mail import pending_ids, ticket_stored_mail
from connector.collaborators import Collaborators

log = logging.getLogger(__name__)
# Younger mail is most likely still queued for the receiver's own worker; leave it to that worker.
RETRY_AFTER = timedelta(minutes=1)


def retry_pending_smtp(runtime: Collaborators, now: Callable[[], datetime] = utcnow, limit: int = 500) -> int:
    """Ticket SMTP mail left pending for over RETRY_AFTER; the number processed. Schedule every 60 s.

    Safe beside the receiver: ticketing locks the stored row and skips what is no longer pending."""
    done, ticketing = 0, runtime.ticketing
    for raw_id in pending_ids(ticketing.engine, source="smtp", received_before=now() - RETRY_AFTER, limit=limit):
        try:
            outcome = ticket_stored_mail(ticketing, raw_id)
        except Exception:  # noqa: BLE001 — still pending (the database refused); the next run tries again
            log.exception("smtp raw mail %s is still pending: processing failed again", raw_id)
            continue
        log.info("smtp raw mail %s retried: %s", raw_id, outcome)
        done += 1
    return done
