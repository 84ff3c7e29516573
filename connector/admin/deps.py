"""Shared request plumbing of the admin routes: the read-only database session."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlmodel import Session

from connector.bootstrap import Runtime


@contextmanager
def read_session(runtime: Runtime) -> Iterator[Session]:
    """A read-only session that does not take SQLite's write lock, so views never wait on a sync job."""
    with Session(runtime.engine.execution_options(sqlite_deferred=True)) as session:
        yield session
