"""Arrival-to-ticket latency (Gmail internalDate to the comment that carried the mail), read from the store."""
from __future__ import annotations

import threading
from bisect import bisect_left
from datetime import datetime

from prometheus_client.core import HistogramMetricFamily
from sqlmodel import Session, select

from connector.store.models import Comment, RawMail

# Seconds: a poll interval or two when all is well, hours when an inbox was stuck or backfilled.
BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0, 86_400.0)
READ_BATCH = 5000


class ArrivalLatency:
    """A Prometheus histogram kept in memory and fed at scrape time with comments not yet seen.

    Counting only comments created since `since` (the daemon's start) keeps a scrape cheap after a
    restart; the histogram then starts from zero, as a counter of a restarted process should.
    """

    def __init__(self, since: datetime):
        self._since = since
        self._last_id = 0
        self._counts = [0] * (len(BUCKETS) + 1)   # the last one is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()

    def refresh(self, session: Session) -> None:
        """Observe every inbound comment of Gmail mail created since the last refresh."""
        with self._lock:
            while self._read_batch(session) == READ_BATCH:
                pass

    def _read_batch(self, session: Session) -> int:
        query = (select(Comment.id, Comment.created_at, RawMail.internal_date)
                 .join(RawMail, Comment.raw_mail_id == RawMail.id)
                 .where(Comment.id > self._last_id, Comment.created_at >= self._since,
                        Comment.direction == "inbound", RawMail.internal_date.is_not(None))
                 .order_by(Comment.id).limit(READ_BATCH))
        rows = session.exec(query).all()
        for comment_id, created_at, arrived_at in rows:
            self.observe((created_at - arrived_at).total_seconds())
            self._last_id = comment_id
        return len(rows)

    def observe(self, seconds: float) -> None:
        # Clock skew between Google and this host can make a tiny negative delay; it means "at once".
        seconds = max(0.0, seconds)
        self._counts[bisect_left(BUCKETS, seconds)] += 1
        self._sum += seconds

    def metric(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "gmail_connector_arrival_to_ticket_seconds",
            "Seconds from Gmail's internalDate to the ticket comment, for mail processed since the daemon started.")
        cumulative, buckets = 0, []
        for bound, count in zip((*BUCKETS, float("inf")), self._counts):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        family.add_metric([], buckets, sum_value=self._sum)
        return family
