"""Lease tests run on both databases: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
from sqlalchemy import Engine

from connector.store.db import make_engine, session_scope, upgrade
from connector.store.inboxes import add_inbox

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
TTL = timedelta(seconds=30)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_engine")
        return
    engine = make_engine(f"sqlite:///{(tmp_path / 'leases.db').as_posix()}")
    upgrade(engine)
    yield engine
    engine.dispose()


def add_inboxes(engine: Engine, count: int, state: str = "active", prefix: str = "support") -> list[str]:
    addresses = [f"{prefix}{n:03d}@example.com" for n in range(count)]
    with session_scope(engine) as session:
        for address in addresses:
            inbox = add_inbox(session, address, now=T0)
            inbox.state = state
    return addresses


class Clock:
    """A hand-moved clock, so TTL expiry is tested without sleeping."""

    def __init__(self, start: datetime = T0):
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)
