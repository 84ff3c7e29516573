"""The database engine: SQLite by default, PostgreSQL by URL, plus the transaction scope."""
from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from connector.store.private_files import restrict

# Operators paste URLs from hosting dashboards; both spellings mean PostgreSQL, and we ship psycopg 3.
_POSTGRES_PREFIXES = ("postgres://", "postgresql://")
SQLITE_BUSY_TIMEOUT_MS = 5000
# SQLite names its companions after the database file and creates them with the database's mode.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def normalise_url(database_url: str) -> str:
    """Rewrite bare PostgreSQL URLs to the psycopg 3 driver; leave everything else alone."""
    for prefix in _POSTGRES_PREFIXES:
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url


# Engines made in this process, so a command run inside a longer-lived process (tests, an
# embedding tool) returns its connections when it ends.
_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def dispose_all(keep: "frozenset[Engine] | set[Engine]" = frozenset()) -> None:
    """Dispose every engine made in this process but those in `keep`."""
    for engine in list(_ENGINES):
        if engine not in keep:
            engine.dispose()


def engines_now() -> set[Engine]:
    """The engines alive now: a command disposes only those it made (dispose_all(keep=...)), never
    an engine its caller still works with (a test's store, with its receiver thread mid-session)."""
    return set(_ENGINES)


def make_engine(database_url: str) -> Engine:
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        engine = create_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
        event.listen(engine, "before_cursor_execute", _postgres_text_without_nul, retval=True)
    _ENGINES.add(engine)
    return engine


def _postgres_text_without_nul(_conn, _cursor, statement, parameters, _context, _executemany):
    # PostgreSQL text cannot hold NUL (SQLite can), yet mail decodes to it: "=00" in an encoded word,
    # a stray byte in a body. One such message would fail every sync of its inbox. The raw bytes are
    # kept as bytea, so the text copies get U+FFFD instead, in lookups too, so they still match.
    return statement, _without_nul(parameters)


def _without_nul(parameters):
    # One statement's parameters are a mapping; a batch (executemany) is a sequence of mappings.
    if isinstance(parameters, Mapping):
        return {key: _text_without_nul(value) for key, value in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(_without_nul(each) if isinstance(each, Mapping) else _text_without_nul(each)
                                for each in parameters)
    return parameters


def _text_without_nul(value):
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _sqlite_engine(url) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        private_database_file(Path(database))
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


class StoreLocationError(ValueError):
    """The SQLite file's directory is not there (and is more than one level away from existing)."""


def private_database_file(path: Path) -> None:
    """Create the SQLite file 0600 (in a 0700 directory, when we create that) before SQLite opens it.

    The file holds every stored mail. SQLite would create it 0644 under the usual umask, and gives
    its -wal and -shm files the database file's mode, so creating it first closes all three.
    """
    if not path.parent.parent.is_dir():
        # One missing directory is ours to make (DATA_DIR's own, say); a deeper path is more likely a
        # typo in DATABASE_URL than a wish to create a tree.
        raise StoreLocationError(f"the directory {path.parent.parent} does not exist")
    path.parent.mkdir(mode=0o700, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))   # SQLite reads 0 bytes as empty
        return
    except FileExistsError:
        pass
    for each in (path, *(path.with_name(path.name + suffix) for suffix in _SQLITE_COMPANIONS)):
        restrict(each)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite opens transactions lazily and its own way, which breaks SAVEPOINT (the store's
    # idempotent inserts rely on them); we switch that off and emit BEGIN ourselves below.
    dbapi_connection.isolation_level = None
    # WAL lets the status endpoint read while a sync job writes; foreign keys are off by default
    # in SQLite and must be switched on for every new connection.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock up front, waiting up to busy_timeout. A deferred transaction
    # that read first would instead fail at once with "database is locked" when another job
    # committed meanwhile. Read-only views may opt out: engine.execution_options(sqlite_deferred=True).
    deferred = connection.get_execution_options().get("sqlite_deferred", False)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back when it raises."""
    # Objects stay readable after commit so callers can report what they just wrote.
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def probe_write(engine: Engine) -> None:
    """Raise unless the store can write now: one row rewritten unchanged, in its own short transaction.

    Rewriting alembic_version's row changes no meaning, yet SQLite writes a page to its WAL and
    PostgreSQL a new tuple, so a full disk or a read-only file fails here as every real write would.
    """
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = version_num"))


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default: the newest); safe to call on every start."""
    from connector.store.migrate import upgrade as _upgrade

    _upgrade(engine, revision)
