"""Real databases for the store tests: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from typing import Callable, Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from connector.store.db import make_engine, normalise_url, session_scope, upgrade
from connector.store.raw import store_raw

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class PostgresServer:
    """Creates throw-away databases on the server named by TEST_DATABASE_URL, and drops them."""

    def __init__(self, url: str):
        self.url = make_url(normalise_url(url))
        self.created: list[str] = []

    def _admin(self):
        import psycopg

        plain = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(plain, autocommit=True)

    def create_database(self) -> str:
        name = f"test_{secrets.token_hex(6)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self._admin() as admin:
            for name in self.created:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (scripts/start-postgres.sh starts a server)")
    server = PostgresServer(url)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_migrated_url(postgres_server: PostgresServer) -> str:
    """One database per test session, migrated once; tests empty its tables instead of recreating it."""
    url = postgres_server.create_database()
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> str:
    """A URL of a database that exists but has no tables yet."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'connector.db'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[Engine]:
    """A migrated, empty database."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
        upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_migrated_url"))
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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
