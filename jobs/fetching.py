"""Which Gmail ids a pass must import, and importing them: fetch raw in batches, store, process, label."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Iterable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import select

from connector.gmail.port import (AuthRevoked, GmailError, GmailGateway, InsufficientScope, RateLimited, RawMessage,
                                  TransientError)
from connector.mail.decision import Suspend
from connector.mail.parse import parse_mail
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.models import RawMail
from connector.store.raw import store_raw
from connector.store.tickets import apply_decision
from jobs.process_mail import Outcomes, Route, process_one

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


def import_ids(gateway: GmailGateway, engine: Engine, settings: Settings, inbox_id: int, route: Route,
               ids: Sequence[str], now: Callable[[], datetime], outcomes: Outcomes,
               progress: Callable[[int, int], None] | None = None) -> int:
    """Import the ids not stored yet; label everything seen. Raises if any fetch failed."""
    ids = list(dict.fromkeys(ids))
    stored_before = _stored_gmail_ids(engine, inbox_id, ids)
    new_ids = [i for i in ids if i not in stored_before]
    to_label = set(stored_before)
    imported = 0
    for start in range(0, len(new_ids), FETCH_CHUNK):
        chunk = new_ids[start:start + FETCH_CHUNK]
        result = gateway.fetch_raw(chunk)
        for gmail_id in chunk:
            message = result.messages.get(gmail_id)
            if message is None or not _belongs_in_helpdesk(message):
                continue
            outcomes.count(_store_and_process(engine, settings, inbox_id, route, message, now))
            to_label.add(gmail_id)
            imported += 1
        if progress:
            progress(min(start + FETCH_CHUNK, len(new_ids)), len(new_ids))
        blocking = _hold_back_refused(engine, settings, inbox_id, route, result.failed, now, outcomes)
        if blocking:
            # The cursor must not pass a message we could not fetch yet; the next pass retries it.
            raise blocking[0]
    label_imported(gateway, settings, to_label)
    return imported


# Errors that say "not now" (or "not without consent"), as opposed to "never, for this message".
RETRY_LATER = (RateLimited, TransientError, AuthRevoked, InsufficientScope)


def _hold_back_refused(engine: Engine, settings: Settings, inbox_id: int, route: Route,
                       failed: dict[str, GmailError], now: Callable[[], datetime], outcomes: Outcomes) -> list:
    """A message Gmail will never return must not block its inbox for ever: it is suspended, visibly,
    and the cursor may pass it. Returns the errors worth another try."""
    blocking = [error for error in failed.values() if isinstance(error, RETRY_LATER)]
    for gmail_id, error in failed.items():
        if isinstance(error, RETRY_LATER):
            continue
        reason = f"Gmail refused to return message {gmail_id}: {error}"
        with session_scope(engine) as session:
            row = store_raw(session, "gmail", b"", inbox_id=inbox_id, gmail_id=gmail_id, received_at=now())
            if row is not None:
                row.error = reason
                outcomes.count(apply_decision(session, row, Suspend(reason=reason, kind="error"),
                                              settings.attachments_dir, now()))
    return blocking


def _belongs_in_helpdesk(message: RawMessage) -> bool:
    """Inbox mail only, as the backfill lists it: mail a Gmail filter archived on arrival is not a request."""
    labels = set(message.label_ids)
    return "INBOX" in labels and not SKIPPED_LABELS.intersection(labels)


def _stored_gmail_ids(engine: Engine, inbox_id: int, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    with session_scope(engine) as session:
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            query = select(RawMail.gmail_id).where(RawMail.inbox_id == inbox_id, RawMail.gmail_id.in_(part))
            found.update(session.exec(query))
    return found


def _store_and_process(engine: Engine, settings: Settings, inbox_id: int, route: Route,
                       message: RawMessage, now: Callable[[], datetime]) -> str:
    mail = parse_mail(message.raw)
    with session_scope(engine) as session:
        row = store_raw(session, "gmail", message.raw, inbox_id=inbox_id, gmail_id=message.id,
                        thread_id=message.thread_id, label_ids=message.label_ids,
                        internal_date=message.internal_date_ms, message_id=mail.message_id,
                        from_email=mail.from_.email, subject=mail.subject[:500], received_at=now())
        if row is None:
            return "skipped: already stored"
        raw_id = row.id
    # Committed above: from here a crash leaves a pending row that the next pass processes.
    return process_one(engine, raw_id, route, settings.attachments_dir, settings.attachment_max_bytes, now,
                       parsed=mail)


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
