"""Reading and writing push_watches: a watch started or refused, notifications marked, passes wanted."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import BigInteger, case, cast, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connector.store.models import Inbox
from connector.store.push_models import PushWatch
from connector.store.types import iso_utc

RENEW_EVERY = timedelta(days=1)              # Google: at least every 7 days, daily recommended
RETRY_REFUSED_AFTER = timedelta(minutes=10)  # a refused watch (the topic's setup) is tried again this often


def watch_of(session: Session, inbox_id: int) -> PushWatch | None:
    return session.exec(select(PushWatch).where(PushWatch.inbox_id == inbox_id)).first()


def _row(session: Session, inbox_id: int, now: datetime) -> PushWatch:
    """The inbox's row, made if missing; two daemons making it at once both end up with the one row."""
    row = watch_of(session, inbox_id)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = PushWatch(inbox_id=inbox_id, created_at=now, updated_at=now)
            session.add(row)
    except IntegrityError:
        row = watch_of(session, inbox_id)
    return row


def watch_due(row: PushWatch | None, topic: str, now: datetime) -> bool:
    """Whether the holder's pass calls users.watch: never watched, another topic, ended, expiring, a day
    old, or failed (a refusal, which needs the admin, is retried every ten minutes; a hiccup at once)."""
    if row is None or row.topic != topic:
        return True
    if row.error:
        return not row.refused or row.error_at is None or now - row.error_at >= RETRY_REFUSED_AFTER
    if row.expiration is None:
        return True
    return row.expiration <= now + timedelta(hours=1) or row.renewed_at is None or now - row.renewed_at >= RENEW_EVERY


def record_watch(session: Session, inbox_id: int, topic: str, expiration: datetime, now: datetime) -> None:
    row = _row(session, inbox_id, now)
    row.topic, row.expiration, row.renewed_at, row.error, row.error_at = topic, expiration, now, None, None
    row.refused, row.updated_at = False, now


def record_watch_failure(session: Session, inbox_id: int, topic: str, error: str, refused: bool,
                         now: datetime) -> None:
    """A refusal ends the watch (the inbox polls); a transient failure keeps an unexpired one."""
    row = _row(session, inbox_id, now)
    if refused or row.topic != topic or (row.expiration is not None and row.expiration <= now):
        row.expiration = None
    row.topic, row.error, row.error_at, row.refused, row.updated_at = topic, error[:1000], now, refused, now


def end_watch(session: Session, inbox_id: int, now: datetime) -> None:
    """users.stop was called (the inbox is paused): no watch until it is active again."""
    row = watch_of(session, inbox_id)
    if row is not None:
        row.expiration, row.error, row.error_at, row.refused, row.updated_at = None, None, None, False, now


def healthy_watches(session: Session, addresses: set[str], now: datetime) -> set[str]:
    """The inboxes among `addresses` with a working, unexpired watch: they poll only as a safety net."""
    if not addresses:
        return set()
    query = (select(Inbox.address).join(PushWatch, PushWatch.inbox_id == Inbox.id)
             .where(Inbox.address.in_(addresses), PushWatch.expiration > now, PushWatch.error.is_(None)))
    return set(session.exec(query))


def mark_wanted(session: Session, wanted: dict[int, int], counts: dict[int, int], now: datetime) -> None:
    """Notifications pulled: per inbox the highest history id reported, and how many there were."""
    for inbox_id, history_id in wanted.items():
        _row(session, inbox_id, now)
        session.flush()
        higher = case((PushWatch.wanted_history_id.is_(None), history_id),
                      (PushWatch.wanted_history_id < history_id, history_id), else_=PushWatch.wanted_history_id)
        session.exec(update(PushWatch).where(PushWatch.inbox_id == inbox_id).values(
            wanted_history_id=higher, last_notification_at=now, updated_at=now,
            notifications=PushWatch.notifications + counts.get(inbox_id, 1)))


def passes_wanted(session: Session, addresses: set[str], now: datetime) -> list[tuple[str, int]]:
    """Inboxes among `addresses` a notification asked to sync that their cursor has not reached yet,
    with the history id wanted."""
    if not addresses:
        return []
    cursor = cast(Inbox.history_id, BigInteger)
    query = (select(Inbox.address, PushWatch.wanted_history_id).join(PushWatch, PushWatch.inbox_id == Inbox.id)
             .where(Inbox.address.in_(addresses), PushWatch.wanted_history_id.is_not(None),
                    (Inbox.history_id.is_(None)) | (PushWatch.wanted_history_id > cursor),
                    (Inbox.backoff_until.is_(None)) | (Inbox.backoff_until <= now)))
    return [(address, int(wanted)) for address, wanted in session.exec(query)]


def add_recovered(session: Session, inbox_id: int, messages: int, now: datetime) -> None:
    row = watch_of(session, inbox_id)
    if row is not None and messages:
        row.recovered_by_poll += messages
        row.updated_at = now


def push_by_inbox(session: Session, now: datetime, inbox_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """One query for every inbox's watch (or one page's); an inbox without a row has never been watched."""
    query = select(PushWatch) if inbox_ids is None else select(PushWatch).where(PushWatch.inbox_id.in_(list(inbox_ids)))
    return {row.inbox_id: _watch(row, now) for row in session.exec(query)}


def _watch(row: PushWatch, now: datetime) -> dict[str, Any]:
    working = row.expiration is not None and row.expiration > now and row.error is None
    return {"enabled": working, "watch_expiration": iso_utc(row.expiration),
            "last_notification_at": iso_utc(row.last_notification_at), "notifications": row.notifications,
            "recovered_by_poll": row.recovered_by_poll, "error": row.error, "renewed_at": iso_utc(row.renewed_at)}


NOT_WATCHED = {"enabled": False, "watch_expiration": None, "last_notification_at": None, "notifications": 0,
               "recovered_by_poll": 0, "error": None, "renewed_at": None}
