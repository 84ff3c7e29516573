"""Which Gmail ids a pass must import, and importing them: fetch raw in batches, store, process, label."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Iterable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import select

from connector.gmail.port import (AuthRevoked, GmailError, GmailGateway, InsufficientScope, RateLimited, RawMessage,
                                  TransientError)
from connector.mail.outcome import OutcomeCounts
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.fetch_failures import forget_failures, record_failures
from connector.store.models import RawMail
from connector.store.raw import store_fetched_batch
from connector.ticketing.ticket_mail import Ticketing, ticket_stored_mails

log = logging.getLogger(__name__)

# A helpdesk never tickets outgoing mail, drafts, spam, the bin or chats.
SKIPPED_LABELS = frozenset({"SENT", "DRAFT", "SPAM", "TRASH", "CHAT"})
# Ids fetched per round trip of work; the adapter splits each into batches of at most 50 calls.
FETCH_CHUNK = 100


def listing_for_backfill(gateway: GmailGateway, settings: Settings) -> tuple[list[str], str]:
    """Recent unread inbox mail, oldest first, and the cursor to continue from afterwards."""
    # The cursor is read before listing: mail arriving during the backfill shows up in history.
    cursor = gateway.profile().history_id
    if settings.backfill_days == 0 or settings.backfill_max == 0:
        return [], cursor
    query = f"in:inbox is:unread newer_than:{settings.backfill_days}d"
    ids = gateway.list_message_ids(query, limit=settings.backfill_max)
    return list(reversed(ids)), cursor


def listing_for_catch_up(gateway: GmailGateway, settings: Settings) -> list[str]:
    """Once, in the pass after a backfill: Gmail's search index lags by seconds, so mail that arrived
    just before the backfill's cursor may be in neither its listing nor the history. List it again;
    what is already stored is skipped without being fetched."""
    if settings.backfill_days == 0 or settings.backfill_max == 0:
        return []
    return list(reversed(gateway.list_message_ids("in:inbox is:unread newer_than:1d", limit=settings.backfill_max)))


def listing_for_resync(gateway: GmailGateway, settings: Settings, last_success_at: datetime | None,
                       now: datetime) -> tuple[list[str], str]:
    """After the history cursor expired: all inbox mail since the last good pass (with margin)."""
    cursor = gateway.profile().history_id
    since = (last_success_at or now - timedelta(days=max(settings.backfill_days, 1))) - timedelta(hours=1)
    ids = gateway.list_message_ids(f"in:inbox after:{int(since.timestamp())}")
    return list(reversed(ids)), cursor


class PassStopped(Exception):
    """The daemon is stopping: the pass ends between two chunks; what was stored is kept, the cursor stays."""


def import_ids(gateway: GmailGateway, ticketing: Ticketing, settings: Settings, inbox_id: int,
               ids: Sequence[str], outcomes: OutcomeCounts,
               progress: Callable[[int, int], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> int:
    """Import the ids not stored yet; label everything seen. Raises if any fetch failed for now."""
    ids = list(dict.fromkeys(ids))
    engine = ticketing.engine
    stored_before = _stored_gmail_ids(engine, inbox_id, ids)
    new_ids = [i for i in ids if i not in stored_before]
    to_label = set(stored_before)
    imported, not_yet = 0, {}
    for start in range(0, len(new_ids), FETCH_CHUNK):
        if start and should_stop is not None and should_stop():
            label_imported(gateway, settings, to_label)
            raise PassStopped(f"stopped after {imported} of {len(new_ids)} messages")
        chunk = new_ids[start:start + FETCH_CHUNK]
        result = gateway.fetch_raw(chunk)
        wanted = [result.messages[i] for i in chunk if i in result.messages and _belongs_in_helpdesk(result.messages[i])]
        refused = {i: e for i, e in result.failed.items() if not isinstance(e, NOT_THIS_MESSAGE)}
        # Write before act: the chunk's bytes are committed before any of it is read.
        raw_ids, waiting = store_fetched(engine, inbox_id, wanted, result.messages, refused, ticketing.now())
        not_yet.update(waiting)
        for outcome in ticket_stored_mails(ticketing, raw_ids):
            outcomes.add(outcome)
        to_label.update(m.id for m in wanted)
        imported += len(wanted)
        if progress:
            progress(min(start + FETCH_CHUNK, len(new_ids)), len(new_ids))
        blocking = [e for e in result.failed.values() if isinstance(e, NOT_THIS_MESSAGE)]
        if blocking:
            raise blocking[0]       # quota or consent: every further call would fail the same way
    label_imported(gateway, settings, to_label)
    if not_yet:
        # The cursor must not pass a message Gmail did not return yet; the next pass asks again.
        first = next(iter(not_yet.values()))
        raise TransientError(f"Gmail did not return {len(not_yet)} message(s) yet (asked again next pass): {first}")
    return imported


# Errors that are no message's fault: wait (quota) or ask for consent; the message is not counted.
NOT_THIS_MESSAGE = (RateLimited, AuthRevoked, InsufficientScope)


def store_fetched(engine: Engine, inbox_id: int, messages: Sequence[RawMessage], fetched: Iterable[str],
                  refused: dict[str, GmailError], when: datetime) -> tuple[list[int], dict[str, str]]:
    """Store the fetched messages, count the refusals, and store a bytes-less row (held back visibly,
    recoverable, the cursor may pass it) for each message refused repeatedly over an hour
    (store/fetch_failures.py). Returns the new rows' ids in order, and the refusals still counted."""
    batch = [{"gmail_id": m.id, "thread_id": m.thread_id, "label_ids": m.label_ids,
              "internal_date": m.internal_date_ms, "raw": m.raw} for m in messages]
    with session_scope(engine) as session:
        forget_failures(session, inbox_id, fetched)
        given_up = record_failures(session, inbox_id, {i: str(e) for i, e in refused.items()}, when)
        batch += [{"gmail_id": g.gmail_id, "raw": b"", "error": g.reason} for g in given_up]
        gone = {g.gmail_id for g in given_up}
        return (store_fetched_batch(session, inbox_id, batch, when),
                {i: str(e) for i, e in refused.items() if i not in gone})


def _belongs_in_helpdesk(message: RawMessage) -> bool:
    """Inbox mail only, as the backfill lists it: mail a Gmail filter archived on arrival is not a request."""
    labels = set(message.label_ids)
    return "INBOX" in labels and not SKIPPED_LABELS.intersection(labels)


def _stored_gmail_ids(engine: Engine, inbox_id: int, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    with session_scope(engine.execution_options(sqlite_deferred=True)) as session:
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            query = select(RawMail.gmail_id).where(RawMail.inbox_id == inbox_id, RawMail.gmail_id.in_(part))
            found.update(session.exec(query))
    return found


def label_imported(gateway: GmailGateway, settings: Settings, gmail_ids: Iterable[str]) -> None:
    """Mark imported mail in Gmail (one batchModify per 1,000 ids), optionally read or archived."""
    ids = sorted(gmail_ids)
    if not ids or not settings.imported_label:
        return
    remove = {"mark_read": ["UNREAD"], "archive": ["INBOX"]}.get(settings.after_import, [])
    try:
        label = gateway.ensure_label(settings.imported_label)
        gateway.modify_labels(ids, add=[label.id], remove=remove)
    except InsufficientScope as exc:
        # A read-only grant still imports mail; it just cannot mark it in Gmail.
        log.warning("cannot label imported mail: %s", exc)
