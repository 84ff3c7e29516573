"""Keeping each inbox's users.watch alive, and ending it: plain functions the daemon calls.

The inbox's lease holder renews its watch at the start of a pass when it is due (daily, at once after
an expiry or a hiccup, every ten minutes while Gmail refuses the topic). A refusal names the fix and
the inbox keeps polling at POLL_INTERVAL_SECONDS meanwhile.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlmodel import select

from connector.collaborators import Collaborators
from connector.gmail.port import WatchRefused
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.leases import SYNCED_STATES
from connector.store.models import Inbox
from connector.store.push import end_watch, record_watch, record_watch_failure, watch_due, watch_of
from connector.store.push_models import PushWatch
from connector.store.types import utcnow

log = logging.getLogger(__name__)
WATCHED_LABELS = ("INBOX",)


def keep_watch(runtime: Collaborators, address: str, now: Callable[[], datetime] = utcnow) -> str | None:
    """Watch the inbox when due; "watching", "refused", "failed", or None when nothing was due."""
    topic = runtime.settings.pubsub_topic
    if not runtime.settings.push_enabled:
        return None
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        if inbox is None or inbox.state not in SYNCED_STATES or not watch_due(watch_of(session, inbox.id), topic, now()):
            return None
        inbox_id = inbox.id
    gateway = None
    try:
        gateway = runtime.open_gateway(address)
        started = gateway.watch(topic, WATCHED_LABELS)
    except WatchRefused as exc:
        log.warning("Gmail refused to watch %s: %s", address, exc)
        return _failed(runtime, inbox_id, topic, str(exc), True, now())
    except Exception as exc:  # noqa: BLE001 — a grant or network problem: the sync pass reports it
        log.warning("users.watch of %s failed: %s", address, exc)
        return _failed(runtime, inbox_id, topic, f"{type(exc).__name__}: {exc}", False, now())
    finally:
        if gateway is not None:
            gateway.close()
    with session_scope(runtime.engine) as session:
        record_watch(session, inbox_id, topic, started.expiration, now())
    return "watching"


def _failed(runtime: Collaborators, inbox_id: int, topic: str, error: str, refused: bool, now: datetime) -> str:
    with session_scope(runtime.engine) as session:
        record_watch_failure(session, inbox_id, topic, error, refused, now)
    return "refused" if refused else "failed"


def stop_watch(runtime: Collaborators, address: str, now: Callable[[], datetime] = utcnow,
               only_unsynced: bool = False) -> bool:
    """users.stop for one inbox (paused, or about to be removed); False if Gmail could not be told.

    A watch Gmail was not told about lapses within 7 days; its notifications meanwhile are
    acknowledged and counted as for an unknown address."""
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        row = watch_of(session, inbox.id) if inbox is not None else None
        if row is None or row.expiration is None or (only_unsynced and inbox.state in SYNCED_STATES):
            return True     # nothing to stop, or resumed since it was listed: its watch stays
        inbox_id = inbox.id
    told = True
    try:
        gateway = runtime.open_gateway(address)
        try:
            gateway.stop_watch()
        finally:
            gateway.close()
    except Exception as exc:  # noqa: BLE001 — a revoked grant cannot stop it; the watch lapses by itself
        log.warning("users.stop of %s failed (the watch lapses within 7 days): %s", address, exc)
        told = False
    with session_scope(runtime.engine) as session:
        end_watch(session, inbox_id, now())     # either way: asking again every minute would not help
    return told


def stop_unsynced_watches(runtime: Collaborators, now: Callable[[], datetime] = utcnow) -> list[str]:
    """Periodic: the watches of inboxes no longer synced (paused, needing consent) are stopped."""
    query = (select(Inbox.address).join(PushWatch, PushWatch.inbox_id == Inbox.id)
             .where(PushWatch.expiration.is_not(None), Inbox.state.not_in(SYNCED_STATES)))
    with session_scope(runtime.engine) as session:
        addresses = list(session.exec(query))
    for address in addresses:
        stop_watch(runtime, address, now, only_unsynced=True)
    return addresses
