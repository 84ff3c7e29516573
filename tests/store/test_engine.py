"""The engine: URL handling, SQLite pragmas, PostgreSQL pool, transaction scope, UTC columns."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from connector.store.db import make_engine, normalise_url, session_scope
from connector.store.models import Inbox
from connector.store.types import iso_utc


@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p@db:5432/helpdesk", "postgresql+psycopg://u:p@db:5432/helpdesk"),
    ("postgresql://u@db/helpdesk", "postgresql+psycopg://u@db/helpdesk"),
    ("postgresql+psycopg://u@db/helpdesk", "postgresql+psycopg://u@db/helpdesk"),
    ("sqlite:///data/connector.db", "sqlite:///data/connector.db"),
])
def test_postgres_urls_are_rewritten_to_psycopg3(given, expected):
    assert normalise_url(given) == expected


def test_a_sqlite_path_two_directories_away_from_existing_is_refused_not_created(tmp_path):
    from connector.store.db import StoreLocationError
    with pytest.raises(StoreLocationError, match="deep does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'connector.db'}").connect()
    assert not (tmp_path / "deep").exists()


def test_sqlite_file_gets_its_directory_and_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'connector.db'}")
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 5000
            assert pragma("synchronous") == 1  # NORMAL
        assert (tmp_path / "deep" / "connector.db").is_file()
    finally:
        engine.dispose()


def test_postgres_engine_pool_is_bounded_and_pre_pings():
    engine = make_engine("postgres://nobody@127.0.0.1:1/none")  # never connected
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.pool.size() == 5
        assert engine.pool._max_overflow == 5
        assert engine.pool._pre_ping is True
    finally:
        engine.dispose()


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine):
    with session_scope(engine) as session:
        session.add(Inbox(address="kept@example.com"))
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            session.add(Inbox(address="lost@example.com"))
            session.flush()
            raise RuntimeError("boom")
    with engine.connect() as connection:
        addresses = connection.execute(text("SELECT address FROM inboxes")).scalars().all()
    assert addresses == ["kept@example.com"]


def test_savepoint_inside_a_transaction_does_not_commit_it(engine):
    # pysqlite's own transaction handling would turn the first RELEASE SAVEPOINT into a COMMIT.
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            with session.begin_nested():
                session.add(Inbox(address="inside-savepoint@example.com"))
            raise RuntimeError("roll the whole thing back")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM inboxes")).scalar() == 0


def test_timestamps_come_back_aware_utc_and_naive_ones_are_refused(engine):
    paris = timezone(__import__("datetime").timedelta(hours=2))
    with session_scope(engine) as session:
        session.add(Inbox(address="a@example.com", next_run_at=datetime(2024, 5, 1, 14, 0, tzinfo=paris)))
    with session_scope(engine) as session:
        inbox = session.get(Inbox, 1)
        assert inbox.next_run_at == datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
        assert inbox.next_run_at.utcoffset().total_seconds() == 0
        assert iso_utc(inbox.next_run_at) == "2024-05-01T12:00:00Z"
    with pytest.raises(Exception, match="naive datetime"):
        with session_scope(engine) as session:
            session.add(Inbox(address="b@example.com", next_run_at=datetime(2024, 5, 1, 12, 0)))


def test_sqlite_readers_may_opt_out_of_waiting_for_a_writer(tmp_path):
    # Writers take the lock at BEGIN; a read-only view opts for a deferred transaction and
    # reads the last committed state while a sync job is writing.
    engine = make_engine(f"sqlite:///{tmp_path / 'connector.db'}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as writer:
            writer.exec_driver_sql("INSERT INTO t VALUES (1)")
            reader_engine = engine.execution_options(sqlite_deferred=True)
            with reader_engine.connect() as reader:
                assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
            writer.commit()
    finally:
        engine.dispose()
