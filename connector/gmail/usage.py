"""Gmail API usage counted in-process: calls and quota units per method, units per inbox (minute, day)."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from connector.gmail.quota_units import GMAIL_UNITS

UNKNOWN_METHOD_UNITS = 1
MINUTE, DAY = 60, 86_400


def units_of(method: str) -> int:
    return GMAIL_UNITS.get(method, UNKNOWN_METHOD_UNITS)


@dataclass(frozen=True)
class MethodUsage:
    calls: int
    units: int


class _Window:
    """Units in buckets: seconds for the last minute, minutes for the last day (about 1,500 ints at most)."""

    def __init__(self) -> None:
        self.seconds: deque[list[int]] = deque()   # [second, units]
        self.minutes: deque[list[int]] = deque()   # [minute, units]

    def add(self, now: float, units: int) -> None:
        second, minute = int(now), int(now // MINUTE)
        for buckets, key in ((self.seconds, second), (self.minutes, minute)):
            if buckets and buckets[-1][0] == key:
                buckets[-1][1] += units
            else:
                buckets.append([key, units])
        self.trim(now)

    def trim(self, now: float) -> None:
        while self.seconds and self.seconds[0][0] <= now - MINUTE:
            self.seconds.popleft()
        # A minute bucket counts while any of its seconds lies within the last day.
        while self.minutes and (self.minutes[0][0] + 1) * MINUTE <= now - DAY:
            self.minutes.popleft()

    def totals(self, now: float) -> tuple[int, int]:
        self.trim(now)
        return sum(u for _, u in self.seconds), sum(u for _, u in self.minutes)


class ApiUsage:
    """Thread-safe counters fed by the Gmail adapter's `on_call(method)`; one per daemon process."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._units: dict[str, int] = {}
        self._inboxes: dict[str, _Window] = {}

    def recorder(self, address: str) -> Callable[[str], None]:
        """The `on_call` for one inbox's adapter."""
        address = address.strip().lower()
        return lambda method: self.record(address, method)

    def record(self, address: str, method: str) -> None:
        units = units_of(method)
        with self._lock:
            self._calls[method] = self._calls.get(method, 0) + 1
            self._units[method] = self._units.get(method, 0) + units
            self._inboxes.setdefault(address, _Window()).add(self._clock(), units)

    def by_method(self) -> dict[str, MethodUsage]:
        """Calls and units per method since the process started (monotonic, for Prometheus counters)."""
        with self._lock:
            return {m: MethodUsage(self._calls[m], self._units[m]) for m in sorted(self._calls)}

    def inbox_units(self) -> dict[str, tuple[int, int]]:
        """Units spent per inbox in the last minute and the last day."""
        now = self._clock()
        with self._lock:
            return {address: window.totals(now) for address, window in self._inboxes.items()}
