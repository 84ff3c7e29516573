"""`Ticketing`: what turning stored mail into tickets needs, built once by the composition root."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy.engine import Engine

from connector.store.types import utcnow
from connector.ticketing.reader import MailReader


@dataclass(frozen=True)
class Ticketing:
    """The collaborators of ticketing, built once by the composition root and handed to every source."""
    engine: Engine
    reader: MailReader
    attachments_dir: Path
    attachment_max_bytes: int
    now: Callable[[], datetime] = utcnow
    # Messages read ahead while others are applied: the readers' worker processes, 0 when reading in-process.
    read_ahead: int = 0
    # A helpdesk destination is configured (HELPDESK other than builtin): ticket changes queue events for it.
    outbox: bool = False
    _reads: Engine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Reads of the row must not take SQLite's write lock (BEGIN IMMEDIATE) while mail is read.
        object.__setattr__(self, "_reads", self.engine.execution_options(sqlite_deferred=True))
