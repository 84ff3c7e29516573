"""The scheduled daemon: APScheduler wiring only — a lease round, and one sync job per inbox it holds.

Several daemons may share one database: each runs a lease round every few seconds (jobs/leases.py)
and schedules passes only for the inboxes whose lease it holds. The round runs on its own
one-thread executor so that eight long backfills cannot starve the heartbeat and lose the leases.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from typing import Callable, Sequence

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import select

from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.leases import SYNCED_STATES
from connector.store.models import Inbox
from connector.store.types import utcnow
from connector.store.push import add_recovered, healthy_watches
from jobs.leases import LeaseKeeper
from jobs.push_watch import keep_watch
from jobs.sync_inbox import sync_inbox
from connector.collaborators import Collaborators

log = logging.getLogger(__name__)
REFRESH_SECONDS = 15          # how soon an inbox added by the CLI gets its job (at most; TTL/3 if shorter)
MAX_WORKERS = 8
QUEUED_STALE_SECONDS = 30.0


@dataclass(frozen=True)
class PeriodicJob:
    """A plain function run every `seconds` (forwarding checks, the outgoing queue, ...)."""
    name: str
    seconds: int
    run: Callable[[], object]


def _guarded(job: PeriodicJob) -> Callable[[], None]:
    def run() -> None:
        try:
            job.run()
        except Exception:  # noqa: BLE001 — one failing job never stops the scheduler
            log.exception("periodic job %s failed", job.name)
    return run


def _job_id(address: str) -> str:
    return f"sync:{address}"


class Daemon:
    """Keeps one interval job per inbox this daemon holds the lease of, in step with the database."""

    def __init__(self, runtime: Collaborators, now: Callable[[], datetime] = utcnow,
                 periodic: Sequence[PeriodicJob] = (), lease_ttl_seconds: int | None = None):
        self.runtime, self.now = runtime, now
        self.periodic = tuple(periodic)
        self.started_at = now()
        ttl = lease_ttl_seconds or runtime.settings.lease_ttl_seconds
        self.leases = LeaseKeeper(runtime.engine, ttl, now=now)
        self.round_seconds = max(1.0, min(REFRESH_SECONDS, ttl / 3))
        self._intervals: dict[str, int] = {}
        self._forced: set[str] = set()      # "sync now" asked by a person skips the backoff once
        self.push = None                    # the PushListener, when push is on (its counters for /status)
        self._notified: set[str] = set()    # a push notification asked for the next pass
        self._again: set[str] = set()       # ... while a pass ran: one more pass right after it
        self._queued: dict[str, float] = {} # brought forward, waiting for a worker (monotonic time)
        # Guards the held and in-flight sets: a lease is never let go while its pass runs.
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._in_flight: set[str] = set()
        # Set when stopping: no new leases are claimed, no pass starts, long imports end between chunks.
        self._stopping = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(MAX_WORKERS), "leases": ThreadPoolExecutor(1)},
            # Never two passes of one inbox at once; a pass missed while busy runs once, not many times.
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300})

    @property
    def daemon_id(self) -> str:
        return self.leases.daemon_id

    def start(self) -> None:
        self.scheduler.start()
        self.refresh_jobs(first=True)
        self.scheduler.add_job(self.refresh_jobs, "interval", seconds=self.round_seconds, id="refresh-inboxes",
                               executor="leases")
        for job in self.periodic:
            self.scheduler.add_job(_guarded(job), "interval", seconds=job.seconds, id=job.name,
                                   jitter=max(1, job.seconds // 10), next_run_time=self.now() + timedelta(seconds=2))

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; with wait, passes in flight finish and the leases are handed back at once."""
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if not wait:
            return      # passes may still run: let the leases expire rather than invite a second syncer
        try:
            self.leases.release_all()
        except Exception:  # noqa: BLE001 — the leases then expire after the TTL instead
            log.exception("could not release the inbox leases")

    def refresh_jobs(self, first: bool = False) -> None:
        """The lease round, then one job per held inbox. Never raises into the scheduler."""
        if self._stopping.is_set():
            return      # a stopping daemon must not take inboxes it would only hand back
        try:
            with self._lock:
                result = self.leases.round(busy=set(self._in_flight))
                self._held = set(result.held)
            wanted = self._intervals_of(set(result.held))
        except Exception:  # noqa: BLE001 — a database hiccup: passes check their lease anyway
            log.exception("lease round failed")
            if first:
                raise
            return
        for address in set(self._intervals) - set(wanted):
            self._remove(address)
        for address, interval in wanted.items():
            if self._intervals.get(address) != interval:
                self._remove(address)
                self._add(address, interval, immediately=True)

    def _intervals_of(self, addresses: set[str]) -> dict[str, int]:
        """Each inbox's poll interval; with a working watch only the safety net (PUSH_FALLBACK_POLL_SECONDS)."""
        settings = self.runtime.settings
        if not addresses:
            return {}
        query = select(Inbox.address, Inbox.state, Inbox.poll_interval_seconds).where(Inbox.address.in_(addresses))
        # Push counts only while this daemon's listener pulls: a watch Gmail accepted is no use when
        # the subscription cannot be read (missing, no role, no credentials).
        listening = settings.push_enabled and (self.push is None or self.push.counters.last_error is None)
        with session_scope(self.runtime.engine) as session:
            pushed = healthy_watches(session, addresses, self.now()) if listening else set()
            return {address: (settings.push_fallback_poll_seconds if address in pushed
                              else interval or settings.poll_interval_seconds)
                    for address, state, interval in session.exec(query) if state in SYNCED_STATES}

    def _add(self, address: str, interval: int, immediately: bool) -> None:
        jitter = max(1, interval // 10)
        start = self.now() + timedelta(seconds=1) if immediately else None
        self.scheduler.add_job(self.run_pass, "interval", seconds=interval, jitter=jitter, args=[address],
                               id=_job_id(address), next_run_time=start, replace_existing=True)
        self._intervals[address] = interval
        log.debug("scheduled %s every %ss", address, interval)

    def _remove(self, address: str) -> None:
        self._intervals.pop(address, None)
        try:
            self.scheduler.remove_job(_job_id(address))
        except JobLookupError:
            pass

    def run_pass(self, address: str) -> None:
        """The scheduled job: only with the lease (renewed first), honouring the backoff; never raises."""
        with self._lock:
            self._queued.pop(address, None)
            if address not in self._held or address in self._in_flight or self._stopping.is_set():
                return
            self._in_flight.add(address)
        try:
            if not self.leases.renew_one(address):
                log.warning("lease of %s was taken over by another daemon; leaving it", address)
                with self._lock:
                    self._held.discard(address)
                return
            self._pass(address)
            # A notification that came while the pass ran gets one more pass, here, in this worker:
            # asking APScheduler for it now would meet the instance still counted as running.
            while self._take_again(address) and not self._stopping.is_set():
                self._pass(address)
        except Exception:  # noqa: BLE001 — the daemon outlives any one inbox's trouble
            log.exception("pass over %s failed", address)
        finally:
            with self._lock:
                self._in_flight.discard(address)
                self._again.discard(address)

    def _take_again(self, address: str) -> bool:
        with self._lock:
            again = address in self._again
            self._again.discard(address)
            return again

    def _pass(self, address: str) -> None:
        with self._lock:
            pushed = address in self._notified
            self._notified.discard(address)
        push = self.runtime.settings.push_enabled
        with session_scope(self.runtime.engine) as session:
            inbox = get_inbox(session, address)
            forced = address in self._forced
            self._forced.discard(address)
            if inbox is None or (not forced and inbox.backoff_until and inbox.backoff_until > self.now()):
                return
            # Only mail an incremental poll finds while a watch already worked counts as "missed by push".
            watched = push and inbox.history_id is not None and address in healthy_watches(session, {address},
                                                                                           self.now())
            inbox_id = inbox.id
        try:
            keep_watch(self.runtime, address, now=self.now)
        except Exception:  # noqa: BLE001 — the watch is push's business; the sync must run regardless
            log.exception("keeping the watch of %s failed", address)
        report = sync_inbox(self.runtime, address, now=self.now, should_stop=self._stopping.is_set)
        if watched and not pushed and report.imported and report.mode == "incremental":
            with session_scope(self.runtime.engine) as session:
                add_recovered(session, inbox_id, report.imported, self.now())

    def notify(self, address: str) -> bool:
        """A push notification asks for a pass now; bursts fold into one, and one more after a running pass."""
        with self._lock:
            if address not in self._held or self._stopping.is_set():
                return False
            self._notified.add(address)
            if address in self._in_flight:
                self._again.add(address)
                return True
            # Already brought forward and waiting for a worker: moving it again would only make
            # APScheduler skip a second instance (and say so in the log).
            if self._is_queued(address):
                return True
            self._queued[address] = time.monotonic()
        job = self.scheduler.get_job(_job_id(address))
        if job is None:
            return False
        job.modify(next_run_time=self.now())
        return True

    def held_idle(self) -> set[str]:
        """Inboxes this daemon holds with no pass running or queued: where a wanted pass may start now."""
        with self._lock:
            return {a for a in self._held - self._in_flight if not self._is_queued(a)}

    def _is_queued(self, address: str) -> bool:
        """Brought forward and not started yet; stale after a while, in case its run was skipped."""
        return time.monotonic() - self._queued.get(address, -QUEUED_STALE_SECONDS) < QUEUED_STALE_SECONDS

    # ---- hooks for the admin endpoint ------------------------------------------------------

    def scheduler_running(self) -> bool:
        return bool(self.scheduler.running)

    def next_run(self, address: str) -> datetime | None:
        job = self.scheduler.get_job(_job_id(address))
        return job.next_run_time if job else None

    def sync_now(self, address: str) -> None:
        job = self.scheduler.get_job(_job_id(address))
        if job is None:
            raise LookupError(f"{address} is not scheduled by this daemon (paused, needs re-authorisation, "
                              "synced by another daemon, or unknown)")
        self._forced.add(address)
        job.modify(next_run_time=self.now())
