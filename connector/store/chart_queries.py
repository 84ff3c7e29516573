"""Counts for the dashboard's charts, aggregated by the database in hour buckets: never a loop over stored mail."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, case, cast, func, literal, union_all
from sqlmodel import Session, select

from connector.store.models import RawMail, SuspendedMail

# Upper bounds in seconds of the arrival-to-ticket bars; the last bar is everything slower.
LATENCY_BOUNDS = (15, 60, 300, 1800, 3600, 4 * 3600, 86_400)


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _epoch(session: Session, column):
    """Seconds since 1970 of a timestamp column, in the dialect's own words (both store UTC)."""
    if session.get_bind().dialect.name == "sqlite":
        # UtcDateTime stores naive UTC text on SQLite; strftime('%s') reads it as UTC.
        return cast(func.strftime("%s", column), Integer)
    return func.extract("epoch", column)


def _hour(session: Session, column):
    """The timestamp's UTC hour as the database can group it cheaply: text 'YYYY-MM-DD HH' or a timestamp."""
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(column, 1, 13)            # UtcDateTime is naive UTC text there
    return func.date_trunc("hour", func.timezone("UTC", column))


def _as_hour(value) -> datetime:
    if isinstance(value, str):
        return datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def imported_by_hour(session: Session, since: datetime, inbox_id: int | None = None) -> dict[datetime, int]:
    """Mail stored per hour from `since` (an hour boundary) on, for one inbox or all; empty hours absent.

    Counted as the status's "imported" figures are (mail of a connected inbox), so that the
    (received_at, inbox_id) and (inbox_id, received_at) indexes answer it without reading a mail."""
    hour = _hour(session, RawMail.received_at).label("hour")
    query = (select(hour, func.count())
             .where(RawMail.received_at >= hour_floor(since), RawMail.inbox_id.is_not(None)).group_by(hour))
    if inbox_id is not None:
        query = query.where(RawMail.inbox_id == inbox_id)
    return {_as_hour(at): int(count) for at, count in session.exec(query)}


def imported_by_day(session: Session, days: list[datetime], inbox_id: int | None = None) -> list[int]:
    """Mail stored on each of `days` (UTC midnights, oldest first, one day apart): one range count per day.

    Counting index ranges costs a third of grouping every mail by a computed day."""
    counts = []
    for day in days:
        where = [RawMail.received_at >= day, RawMail.received_at < day + timedelta(days=1),
                 RawMail.inbox_id.is_not(None) if inbox_id is None else RawMail.inbox_id == inbox_id]
        counts.append(select(literal(len(counts)).label("day"), func.count().label("n")).where(*where))
    if not counts:
        return []
    found = {int(day): int(n) for day, n in session.exec(union_all(*counts))}
    return [found.get(n, 0) for n in range(len(days))]


def latency_counts(session: Session, since: datetime) -> list[int]:
    """How many mails received since `since` reached their ticket within each of LATENCY_BOUNDS (+ slower).

    From Gmail's internalDate to `processed_at`, which is written in the transaction that adds the
    mail's comment (so equals its time); mail held back is left out. Read from raw_mails alone: a
    join to comments would walk every comment ever stored."""
    seconds = _epoch(session, RawMail.processed_at) - _epoch(session, RawMail.internal_date)
    bucket = case(*[(seconds <= bound, index) for index, bound in enumerate(LATENCY_BOUNDS)],
                  else_=len(LATENCY_BOUNDS)).label("bucket")
    held = select(SuspendedMail.id).where(SuspendedMail.raw_mail_id == RawMail.id).exists()
    query = (select(bucket, func.count())
             # No state == "processed": processed_at says it, and the state index would lure the planner.
             .where(RawMail.received_at >= since, RawMail.inbox_id.is_not(None), RawMail.internal_date.is_not(None),
                    RawMail.processed_at.is_not(None), ~held)
             .group_by(bucket))
    counts = [0] * (len(LATENCY_BOUNDS) + 1)
    for index, count in session.exec(query):
        counts[int(index)] = int(count)
    return counts
