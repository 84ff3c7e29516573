"""Suite-wide fixtures: the database a test runs against — SQLite by default, PostgreSQL on request.

`TEST_DATABASE_BACKEND=postgres` with `TEST_DATABASE_URL` (scripts/start-postgres.sh prints one)
gives every test that asks for `database_url` a fresh PostgreSQL database, dropped at the end.
"""
from __future__ import annotations

import os
import secrets
from typing import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from connector.store.db import make_engine, normalise_url, upgrade

# Google's Pub/Sub emulator and its topics, for every test that needs Gmail push (tests/pubsub_emulator.py).
pytest_plugins = ["tests.pubsub_emulator"]

BACKEND_ENV, URL_ENV = "TEST_DATABASE_BACKEND", "TEST_DATABASE_URL"


class ThrowawayDatabases:
    """Creates `test_<hex>` databases on the server named by TEST_DATABASE_URL, and drops them all."""

    def __init__(self, url: str):
        self.url = make_url(normalise_url(url))
        self.created: list[str] = []

    def _admin(self):
        import psycopg

        plain = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(plain, autocommit=True)

    def create(self) -> str:
        name = f"test_{secrets.token_hex(6)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self._admin() as admin:
            for name in self.created:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def postgres_requested() -> bool:
    return os.environ.get(BACKEND_ENV, "sqlite").strip().lower() in ("postgres", "postgresql")


def pytest_collection_modifyitems(config, items) -> None:
    """The PostgreSQL pass runs only the tests whose store follows the backend (the `database_url`
    fixture): every other test ran, identically, in the SQLite pass."""
    if not postgres_requested():
        return
    keep = [item for item in items if "database_url" in getattr(item, "fixturenames", ())]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


def pytest_configure(config) -> None:
    backend = os.environ.get(BACKEND_ENV, "sqlite").strip().lower()
    if backend not in ("", "sqlite", "postgres", "postgresql"):
        raise pytest.UsageError(f"{BACKEND_ENV} must be sqlite or postgres, not {backend!r}")
    if postgres_requested() and not os.environ.get(URL_ENV):
        raise pytest.UsageError(f"{BACKEND_ENV}=postgres needs {URL_ENV} (scripts/start-postgres.sh prints one)")


@pytest.fixture(scope="session")
def throwaway_postgres() -> Iterator[ThrowawayDatabases]:
    url = os.environ.get(URL_ENV)
    if not url:
        pytest.skip(f"{URL_ENV} is not set (scripts/start-postgres.sh starts a server)")
    databases = ThrowawayDatabases(url)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def migrated_postgres_url(throwaway_postgres) -> str:
    """One PostgreSQL database per session, migrated once; tests empty its tables instead of recreating it."""
    url = throwaway_postgres.create()
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_engine(migrated_postgres_url) -> Iterator[Engine]:
    """The session's migrated PostgreSQL database, with every table emptied for this test."""
    engine = make_engine(migrated_postgres_url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """The URL of an empty database for this test: SQLite in tmp_path, or a fresh PostgreSQL database."""
    if postgres_requested():
        return request.getfixturevalue("throwaway_postgres").create()
    return f"sqlite:///{(tmp_path / 'data' / 'connector.db').as_posix()}"
