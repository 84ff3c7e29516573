"""Reading stored mail before it is decided: outside any transaction, within the reader's budget, a few ahead.

Messages are handed on in small batches, so that one short write transaction can settle several
(connector/ticketing/settle.py); what is read ahead is bounded in number and in bytes.
"""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Iterator, Sequence

from sqlalchemy import Row, bindparam, select

from connector.mail.fallback import fallback_mail
from connector.mail.model import ParsedMail
from connector.store.attachment_files import write_attachment
from connector.store.models import RawMail
from connector.ticketing.reader import Unreadable
from connector.ticketing.ticketing import Ticketing

# Messages settled by one write transaction at most: the write lock is held for their database work only.
BATCH_MESSAGES = 20
# Raw bytes read ahead and not yet settled, beyond the one message per reader that is always allowed.
READ_AHEAD_BYTES = 16 << 20
# How long a batch waits for the messages after its oldest, once that one is read: a few more
# messages per write transaction cost less than a transaction each.
BATCH_WAIT_SECONDS = 0.005
# Kinds whose attachments are written before the transaction: the mail most likely becomes a ticket.
_PREWRITTEN_KINDS = frozenset({"normal", "bulk"})


@dataclass(frozen=True)
class LoadedMail:
    raw_id: int
    mail: ParsedMail
    fetch_error: str | None
    size: int


def load(ticketing: Ticketing, raw_id: int, suspended_id: int | None) -> LoadedMail | None:
    """The stored bytes, read within the budget, outside any transaction (never under the write lock).

    None when the message is gone or, unless it is being recovered, no longer pending."""
    return _read(ticketing, raw_id, _stored(ticketing, [raw_id]).get(raw_id), suspended_id)


def _stored(ticketing: Ticketing, raw_ids: Sequence[int]) -> dict[int, Row]:
    """The rows' bytes, state and error, for several messages in one plain read (no write lock)."""
    with ticketing._reads.connect() as connection:
        found = connection.execute(_STORED, {"ids": list(raw_ids)})
        return {row.id: row for row in found}


_STORED = select(RawMail.id, RawMail.raw, RawMail.state, RawMail.error).where(
    RawMail.id.in_(bindparam("ids", expanding=True)))


def _read(ticketing: Ticketing, raw_id: int, found: Row | None, suspended_id: int | None) -> LoadedMail | None:
    if found is None or (suspended_id is None and found.state != "pending"):
        return None
    raw = bytes(found.raw or b"")
    result = ticketing.reader.read(raw)
    mail = fallback_mail(raw, result.reason) if isinstance(result, Unreadable) else result
    if suspended_id is None and not mail.too_complex and mail.classification.kind in _PREWRITTEN_KINDS:
        _write_attachments(ticketing, mail)
    return LoadedMail(raw_id, mail, found.error if not raw else None, len(raw))


def _write_attachments(ticketing: Ticketing, mail: ParsedMail) -> None:
    # Content-addressed, so writing early is harmless: a file nobody references is only disk.
    for attachment in mail.attachments:
        if attachment.size <= ticketing.attachment_max_bytes:
            write_attachment(ticketing.attachments_dir, attachment.payload)


def loaded_batches(ticketing: Ticketing, raw_ids: Sequence[int]) -> Iterator[list[LoadedMail | None]]:
    """The messages read, in order, in batches of at most BATCH_MESSAGES (None: nothing to do for that id)."""
    sizes = _sizes(ticketing, raw_ids) if len(raw_ids) > 1 else {}
    if ticketing.read_ahead <= 0 or len(raw_ids) < 2:
        yield from _read_in_turn(ticketing, raw_ids, sizes)
    else:
        yield from _read_ahead(ticketing, raw_ids, sizes)


def _read_in_turn(ticketing: Ticketing, raw_ids: Sequence[int],
                  sizes: dict[int, int]) -> Iterator[list[LoadedMail | None]]:
    todo = deque(raw_ids)
    while todo:
        group = _take(todo, BATCH_MESSAGES, sizes, 0, always=1)
        rows = _stored(ticketing, group)
        yield [_read(ticketing, raw_id, rows.get(raw_id), None) for raw_id in group]


def _take(todo: deque[int], room: int, sizes: dict[int, int], held: int, always: int) -> list[int]:
    """The next ids, at most `room`, within the byte budget beyond the first `always` of them."""
    group: list[int] = []
    while todo and len(group) < room:
        held += sizes.get(todo[0], 0)
        if len(group) >= always and held > READ_AHEAD_BYTES:
            break
        group.append(todo.popleft())
    return group


def _read_ahead(ticketing: Ticketing, raw_ids: Sequence[int],
                sizes: dict[int, int]) -> Iterator[list[LoadedMail | None]]:
    """Readers in worker processes read the next messages while the ones read are settled.

    A batch is the oldest message, waited for, and those after it read within BATCH_WAIT_SECONDS."""
    todo, window = deque(raw_ids), deque[tuple[int, Future]]()
    held = 0
    pool = ThreadPoolExecutor(ticketing.read_ahead, thread_name_prefix="read-ahead")

    def fill() -> None:
        nonlocal held
        group = _take(todo, ticketing.read_ahead + BATCH_MESSAGES - len(window), sizes, held,
                      always=max(0, ticketing.read_ahead + 1 - len(window)))
        if not group:
            return
        rows = _stored(ticketing, group)    # one read for the group, not one per message
        for raw_id in group:
            held += sizes.get(raw_id, 0)
            window.append((sizes.get(raw_id, 0), pool.submit(_read, ticketing, raw_id, rows.get(raw_id), None)))

    try:
        fill()
        while window:
            batch: list[LoadedMail | None] = []
            deadline = None
            while window and len(batch) < BATCH_MESSAGES:
                if batch:
                    deadline = deadline or time.monotonic() + BATCH_WAIT_SECONDS
                    if not wait([window[0][1]], timeout=max(0.0, deadline - time.monotonic())).done:
                        break
                size, future = window.popleft()
                held -= size
                batch.append(future.result())
            fill()
            yield batch
    finally:
        # Left early (the caller stopped, or a read raised): what was not started yet never is.
        pool.shutdown(wait=True, cancel_futures=True)


def _sizes(ticketing: Ticketing, raw_ids: Sequence[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    with ticketing._reads.connect() as connection:
        for start in range(0, len(raw_ids), 500):
            part = list(raw_ids[start:start + 500])
            found = connection.execute(select(RawMail.id, RawMail.size).where(RawMail.id.in_(part)))
            sizes.update((raw_id, size) for raw_id, size in found)
    return sizes
