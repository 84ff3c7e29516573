"""The suite-wide `database_url` fixture: a migratable empty database on the backend asked for."""
from __future__ import annotations

from sqlalchemy import inspect

from connector.store.db import make_engine, upgrade
from tests.conftest import postgres_requested


def test_database_url_gives_an_empty_database_of_the_requested_backend(database_url):
    engine = make_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
        upgrade(engine)
        assert "inbox_leases" in inspect(engine).get_table_names()
        assert engine.dialect.name == ("postgresql" if postgres_requested() else "sqlite")
    finally:
        engine.dispose()
