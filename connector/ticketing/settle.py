"""Deciding and applying mail already read, several messages to one short write transaction.

A transaction's fixed costs (taking the write lock, reading the rows and the addresses that are
ours, committing) are paid once for up to BATCH_MESSAGES messages, or for as many as fit in
BATCH_SECONDS of database work: SMTP stores and an admin's writes wait no longer than that.
Nothing is read (parsed) here. When anything fails, nothing of that transaction is kept and its
messages are settled again one transaction each, so a bad message is held back alone.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from sqlmodel import Session

from connector.mail.outcome import Outcome
from connector.store.context import our_addresses
from connector.store.db import session_scope
from connector.store.raw import PendingMail, pending_mails
from connector.store.tickets import take_turns
from connector.ticketing.loading import BATCH_MESSAGES, LoadedMail
from connector.ticketing.route import Routes
from connector.ticketing.ticketing import Ticketing

log = logging.getLogger(__name__)
BATCH_SECONDS = 0.02


class WriteBatch:
    """What the messages of one write transaction share: their locked rows, the routes, our addresses."""

    def __init__(self, session: Session, raw_ids: Sequence[int]):
        self.session = session
        self._rows: dict[int, PendingMail] = pending_mails(session.connection(), raw_ids)
        self.routes = Routes(session)
        self._ours: frozenset[str] | None = None

    def take_row(self, raw_id: int) -> PendingMail | None:
        """The message's row as read when the transaction began; None when gone, or already taken
        by this transaction (the same id twice in a batch is settled once)."""
        return self._rows.pop(raw_id, None)

    @property
    def support_addresses(self) -> frozenset[str]:
        if self._ours is None:
            self._ours = our_addresses(self.session.connection())
        return self._ours


Work = Callable[[WriteBatch, LoadedMail], "Outcome | None"]
HoldBack = Callable[[LoadedMail, Exception], Outcome]


def settle(ticketing: Ticketing, batch: Sequence[LoadedMail], work: Work, hold_back: HoldBack) -> list[Outcome | None]:
    """`work` for each message in order, in as few write transactions as the budget allows.

    `work` returns None when there is nothing to do (the message is no longer pending); a message
    whose work fails alone, in its own transaction, goes to `hold_back` with the error."""
    outcomes: list[Outcome | None] = []
    while len(outcomes) < len(batch):
        outcomes += _one_transaction(ticketing, batch[len(outcomes):len(outcomes) + BATCH_MESSAGES], work, hold_back)
    return outcomes


def _one_transaction(ticketing: Ticketing, batch: Sequence[LoadedMail], work: Work,
                     hold_back: HoldBack) -> list[Outcome | None]:
    """Settles a prefix of `batch` (at least its first message); returns its outcomes."""
    done: list[Outcome | None] = []
    attempted = 0
    try:
        with session_scope(ticketing.engine) as session:
            shared = WriteBatch(session, [loaded.raw_id for loaded in batch])
            take_turns(session, [loaded.mail.message_id for loaded in batch])
            started = time.monotonic()      # the write lock is held from here (SQLite: BEGIN IMMEDIATE)
            for loaded in batch:
                attempted += 1
                done.append(work(shared, loaded))
                if time.monotonic() - started >= BATCH_SECONDS:
                    break
        return done
    except Exception as exc:  # noqa: BLE001 — one bad message never stops its inbox or the daemon
        tried = batch[:max(attempted, 1)]
        if len(tried) > 1:
            log.info("a write transaction of %d messages was rolled back (%s: %.200s); settling them one by one",
                     len(tried), type(exc).__name__, exc)
            return [outcome for loaded in tried for outcome in _one_transaction(ticketing, [loaded], work, hold_back)]
        log.exception("raw mail %s could not be processed", tried[0].raw_id)
        return [hold_back(tried[0], exc)]
