"""API usage: units per method from Google's table, and per inbox over a sliding minute and day."""
from __future__ import annotations

import threading

from connector.gmail.usage import GMAIL_UNITS, ApiUsage, MethodUsage, units_of


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_units_follow_the_published_table():
    assert (units_of("messages.get"), units_of("history.list"), units_of("messages.send")) == (5, 2, 100)
    assert units_of("settings.forwardingAddresses.create") == 100
    assert units_of("something.new") == 1  # an unknown method still counts, cheaply
    assert all(isinstance(v, int) and v > 0 for v in GMAIL_UNITS.values())


def test_calls_and_units_add_up_per_method():
    usage = ApiUsage(Clock())
    record = usage.recorder("Help@Example.com")
    for method in ("messages.get", "messages.get", "history.list"):
        record(method)
    assert usage.by_method() == {"history.list": MethodUsage(1, 2), "messages.get": MethodUsage(2, 10)}
    assert usage.inbox_units() == {"help@example.com": (12, 12)}


def test_the_minute_slides_and_the_day_remembers():
    clock = Clock()
    usage = ApiUsage(clock)
    usage.record("a@example.com", "messages.send")      # 100 units
    clock.now += 30
    usage.record("a@example.com", "messages.get")       # 5 units
    clock.now += 31
    assert usage.inbox_units()["a@example.com"] == (5, 105)
    clock.now += 3600
    assert usage.inbox_units()["a@example.com"] == (0, 105)
    clock.now += 86_400
    assert usage.inbox_units()["a@example.com"] == (0, 0)
    assert usage.by_method()["messages.send"] == MethodUsage(1, 100)  # totals never slide


def test_inboxes_are_counted_apart():
    usage = ApiUsage(Clock())
    usage.record("a@example.com", "messages.get")
    usage.record("b@example.com", "history.list")
    assert usage.inbox_units() == {"a@example.com": (5, 5), "b@example.com": (2, 2)}


def test_concurrent_adapters_lose_no_call():
    usage = ApiUsage(Clock())
    record = usage.recorder("a@example.com")

    def hammer() -> None:
        for _ in range(2000):
            record("messages.get")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert usage.by_method()["messages.get"] == MethodUsage(8000, 40_000)
    assert usage.inbox_units()["a@example.com"] == (40_000, 40_000)
