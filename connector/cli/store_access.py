"""One short store transaction for a command: the runtime from the settings, the work, commit."""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlmodel import Session

from connector.bootstrap import bootstrap
from connector.store.db import session_scope

T = TypeVar("T")


def in_store(settings, work: Callable[[Session], T]) -> T:
    """`work` in one transaction of the store the settings name (its engine is disposed when the CLI exits)."""
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        return work(session)
