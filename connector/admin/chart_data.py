"""What the dashboard's charts show, from three indexed queries and the daemon's in-memory API usage."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from connector.gmail.usage import ApiUsage
from connector.store.chart_queries import hour_floor, imported_by_day, imported_by_hour, latency_counts

# Google's per-user limit for Cloud projects made since May 2026 (older ones keep 15,000): the stricter
# figure, so a warning never comes late. The units counted are the published per-method costs.
PER_USER_UNITS_PER_MINUTE = 6_000
QUOTA_INBOXES_SHOWN = 8
DAYS = 7


@dataclass(frozen=True)
class ChartData:
    now: datetime
    hourly: list[tuple[datetime, int]]              # the last 24 hours, oldest first, the current one last
    daily: list[tuple[datetime, int]]               # the last 7 UTC days, today last
    latency: list[int] | None                       # counts per chart_queries.LATENCY_BOUNDS (+ slower)
    quota: list[tuple[str, int]] | None             # busiest inboxes' units in the last minute; None: not measured
    quota_inboxes: int = 0                          # inboxes that spent any unit in the last minute
    held_back: dict[str, int] = field(default_factory=dict)


def collect(session: Session, now: datetime, usage: ApiUsage | None, held_back: dict[str, int],
            inbox_id: int | None = None) -> ChartData:
    """The charts' figures for every inbox, or for one (`inbox_id`: no latency, quota or held-back charts)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    this_hour = hour_floor(now)
    hours = [this_hour - timedelta(hours=n) for n in range(23, -1, -1)]
    by_hour = imported_by_hour(session, hours[0], inbox_id)
    hourly = [(h, by_hour.get(h, 0)) for h in hours]
    daily = list(zip(days, imported_by_day(session, days, inbox_id)))
    if inbox_id is not None:
        return ChartData(now, hourly, daily, None, None)
    return ChartData(now, hourly, daily, latency_counts(session, now - timedelta(hours=24)), *_quota(usage),
                     held_back=dict(held_back))


def _quota(usage: ApiUsage | None) -> tuple[list[tuple[str, int]] | None, int]:
    if usage is None:
        return None, 0
    spent = [(address, minute) for address, (minute, _day) in usage.inbox_units().items() if minute > 0]
    spent.sort(key=lambda item: (-item[1], item[0]))
    return spent[:QUOTA_INBOXES_SHOWN], len(spent)


def quota_of(usage: ApiUsage | None, address: str) -> tuple[int, int] | None:
    """(last minute, last day) units of one inbox, or None when this process does not count them."""
    if usage is None:
        return None
    return usage.inbox_units().get(address, (0, 0))
