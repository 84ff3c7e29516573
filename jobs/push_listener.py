"""Gmail push notifications pulled from Pub/Sub: each asks its inbox's lease holder for a pass, and is
acknowledged only once the inbox's cursor covers its history id.

Two threads. The puller long-polls the subscription and hands what it gets to `receive`; the settler
runs `settle` twice a second. Any daemon may pull any notification (they share the subscription):
the wanted history id is stored (push_watches), the holder's settler sees it within half a second
and asks its daemon for a pass, and whichever daemon holds the message acknowledges it once the
stored cursor reaches it. A notification is never acted on twice: a pass only reads Gmail's history
from the cursor on, so a duplicate or replayed one costs at most one history.list.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlmodel import select

from connector.collaborators import Collaborators
from connector.pubsub.port import Malformed, Notification, PubSubError, PubSubUnavailable, PullSource
from connector.store.db import session_scope
from connector.store.leases import SYNCED_STATES
from connector.store.models import Inbox
from connector.store.push import mark_wanted, passes_wanted
from connector.store.types import utcnow

log = logging.getLogger(__name__)
PULL_BATCH = 100
# Longer than Pub/Sub's own hold of an empty pull (about 90 s on the emulator): a pull we gave up on
# would still be handed the next message, which then comes back only after its ack deadline.
PULL_WAIT = 120.0
SETTLE_SECONDS = 0.5
EXTEND_EVERY, EXTEND_BY = 5.0, 60        # keep unsettled messages ours while their pass runs
GIVE_UP_SECONDS = 600.0                  # then ack anyway: the safety-net poll covers the inbox
NUDGE_EVERY = 5.0                        # the same stored mark asks for a pass at most this often


@dataclass
class _Pending:
    ack_id: str
    address: str
    history_id: int
    received: float
    extended: float


@dataclass
class PushCounters:
    """What this daemon's listener saw, for /status and /metrics."""
    received: int = 0
    unknown: int = 0          # for an address that is not a synced inbox here: acked and counted
    malformed: int = 0
    acked: int = 0
    given_up: int = 0
    last_pull_at: datetime | None = None
    last_error: str | None = None


class PushListener:
    def __init__(self, runtime: Collaborators, source_factory: Callable[[], PullSource],
                 idle: Callable[[], set[str]], notify: Callable[[str], bool],
                 now: Callable[[], datetime] = utcnow, clock: Callable[[], float] = time.monotonic):
        # idle(): the inboxes this daemon holds with no pass running; notify(address): ask it for a pass
        # (False when this daemon does not hold the inbox: its holder sees the stored mark instead).
        self.runtime, self._factory, self._idle, self._notify = runtime, source_factory, idle, notify
        self._now, self._clock = now, clock
        # Twice a second it only reads: on SQLite it must not queue for the write lock passes need.
        self._reader = runtime.engine.execution_options(sqlite_deferred=True)
        self.counters = PushCounters()
        self._pending: list[_Pending] = []
        self._nudged: dict[str, tuple[int, float]] = {}   # the mark that last asked for a pass, and when
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acker: PullSource | None = None
        self._acker_lock = threading.Lock()     # both threads ack; one adapter is not thread-safe

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Never raises: missing credentials or an absent subscription show in the status, and the
        inboxes keep polling until they are fixed."""
        for name, loop in (("push-pull", self._pull_loop), ("push-settle", self._settle_loop)):
            thread = threading.Thread(target=loop, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """The settler ends at once; a puller blocked in a long poll is left to die with the process
        (its unacked messages go back to Pub/Sub after their ack deadline)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=1)
        with self._acker_lock:
            if self._acker is not None:
                self._acker.close()

    def _pull_loop(self) -> None:
        source, pause = None, 1.0
        while not self._stop.is_set():
            try:
                source = source or self._factory()
                items = source.pull(PULL_BATCH, PULL_WAIT)
                self.counters.last_pull_at, self.counters.last_error, pause = self._now(), None, 1.0
                if items and not self._stop.is_set():
                    self.receive(items)
            except PubSubError as exc:
                if self._stop.is_set():
                    break                         # stopping: the failure is the shutdown's
                self._failed(exc)
                if source is not None:
                    source.close()
                source = None
                # A hiccup is retried soon; a setup problem (missing subscription, no role) slowly.
                self._stop.wait(pause if isinstance(exc, PubSubUnavailable) else 30.0)
                pause = min(pause * 2, 30.0)
            except Exception:  # noqa: BLE001 — the listener outlives any one bad batch
                log.exception("push listener: pull failed")
                self._stop.wait(pause)
        if source is not None:
            source.close()

    def _failed(self, exc: PubSubError) -> None:
        text = f"{type(exc).__name__}: {exc}"
        if text != self.counters.last_error:
            log.warning("push listener: %s (inboxes keep polling meanwhile)", text)
        self.counters.last_error = text

    def _settle_loop(self) -> None:
        while not self._stop.wait(SETTLE_SECONDS):
            try:
                self.settle()
            except PubSubError as exc:
                self._failed(exc)
                if self._acker is None:
                    self._stop.wait(30.0)           # no credentials or subscription yet: ask again slowly
            except Exception:  # noqa: BLE001 — a database hiccup: the next round tries again
                log.exception("push listener: settling failed")

    # ---- what is done with what was pulled ------------------------------------------------------
    def receive(self, items: list) -> None:
        """Mark the wanted passes, ack what needs nothing, keep the rest pending; nudge held inboxes."""
        done: list[str] = [item.ack_id for item in items if isinstance(item, Malformed)]
        self.counters.malformed += len(done)
        notes = [item for item in items if isinstance(item, Notification)]
        self.counters.received += len(notes)
        inboxes = self._inboxes({n.email_address.lower() for n in notes})
        wanted: dict[int, int] = {}
        counts: dict[int, int] = defaultdict(int)
        keep: list[_Pending] = []
        for note in notes:
            address = note.email_address.lower()
            found = inboxes.get(address)
            if found is None:
                self.counters.unknown += 1
                done.append(note.ack_id)
                continue
            inbox_id, cursor = found
            counts[inbox_id] += 1
            if cursor is not None and note.history_id <= cursor:
                done.append(note.ack_id)          # the cursor already covers it: no pass needed
                continue
            wanted[inbox_id] = max(wanted.get(inbox_id, 0), note.history_id)
            keep.append(_Pending(note.ack_id, address, note.history_id, self._clock(), self._clock()))
        with session_scope(self.runtime.engine) as session:
            mark_wanted(session, wanted, counts, self._now())
        with self._lock:
            self._pending.extend(keep)
        self._ack(done)
        for address in {p.address for p in keep}:
            self._notify(address)

    def _inboxes(self, addresses: set[str]) -> dict[str, tuple[int, int | None]]:
        """Synced inboxes among `addresses`: id and cursor. Paused or unknown ones are absent."""
        if not addresses:
            return {}
        query = select(Inbox.address, Inbox.id, Inbox.history_id).where(
            Inbox.address.in_(addresses), Inbox.state.in_(SYNCED_STATES))
        with session_scope(self._reader) as session:
            return {a: (i, int(h) if h else None) for a, i, h in session.exec(query)}

    def settle(self) -> None:
        """Ack what the cursors now cover, keep the rest ours, and ask the holder for wanted passes."""
        with self._lock:
            pending = list(self._pending)
        cursors = self._inboxes({p.address for p in pending})
        now = self._clock()
        covered, stale, extend = [], [], []
        for item in pending:
            found = cursors.get(item.address)
            if found is None or (found[1] is not None and item.history_id <= found[1]):
                covered.append(item)
            elif now - item.received > GIVE_UP_SECONDS:
                stale.append(item)
            elif now - item.extended >= EXTEND_EVERY:
                item.extended = now
                extend.append(item.ack_id)
        finished = {id(item) for item in covered + stale}
        with self._lock:
            self._pending = [item for item in self._pending if id(item) not in finished]
        self.counters.given_up += len(stale)
        self._ack([item.ack_id for item in covered + stale])
        if extend:
            with self._acker_lock:
                self._acking_source().extend(extend, EXTEND_BY)
        self._nudge_wanted()

    def _nudge_wanted(self) -> None:
        """Passes another daemon's listener asked for (or one we missed): the holder starts them."""
        idle = self._idle()
        if not idle:
            return
        with session_scope(self._reader) as session:
            wanted = passes_wanted(session, idle, self._now())
        now = self._clock()
        for address, history_id in wanted:
            # A new mark is acted on at once; the same one again only after a while, so that a pass
            # that keeps failing without backing off is not restarted twice a second.
            last = self._nudged.get(address)
            if last is None or last[0] != history_id or now - last[1] >= NUDGE_EVERY:
                self._nudged[address] = (history_id, now)
                self._notify(address)

    def _acking_source(self) -> PullSource:
        """The adapter that acks and extends (its own connection: the puller's is busy long-polling)."""
        if self._acker is None:
            self._acker = self._factory()
        return self._acker

    def _ack(self, ack_ids: list[str]) -> None:
        if not ack_ids:
            return
        try:
            with self._acker_lock:
                self._acking_source().ack(ack_ids)
        except PubSubError as exc:        # redelivered after the deadline, then found covered and acked
            self._failed(exc)
            return
        self.counters.acked += len(ack_ids)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)
