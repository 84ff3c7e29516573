"""Real databases for the store tests: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterator

import pytest
from sqlalchemy import Engine

from connector.store.db import make_engine, session_scope, upgrade
from connector.store.raw import store_raw

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> str:
    """A URL of a database that exists but has no tables yet."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'connector.db'}"
    return request.getfixturevalue("throwaway_postgres").create()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[Engine]:
    """A migrated, empty database."""
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_engine")
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with session_scope(engine) as session:
        yield session


@pytest.fixture
def attachments_dir(tmp_path):
    return tmp_path / "attachments"


@pytest.fixture
def raw_mail(session) -> Callable:
    """Store a raw message the way the sync layer would, with sensible defaults."""
    counter = iter(range(1, 10_000))

    def make(**overrides):
        n = next(counter)
        fields = dict(source="gmail", raw=f"Subject: test {n}\r\n\r\nbody {n}\r\n".encode(), inbox_id=None,
                      gmail_id=None, thread_id=None, message_id=f"msg-{n}@example.com",
                      from_email="customer@example.com", subject=f"test {n}", received_at=NOW)
        fields.update(overrides)
        row = store_raw(session, **fields)
        assert row is not None
        return row

    return make
