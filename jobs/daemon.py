"""The scheduled daemon: APScheduler wiring only — one sync job per inbox; the work is in jobs/."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from typing import Callable, Sequence

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from connector.bootstrap import Runtime
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, list_inboxes
from connector.store.types import utcnow
from jobs.sync_inbox import sync_inbox

log = logging.getLogger(__name__)
REFRESH_SECONDS = 15          # how soon an inbox added by the CLI gets its job
MAX_WORKERS = 8


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
    """Keeps one interval job per active inbox in step with the database."""

    def __init__(self, runtime: Runtime, now: Callable[[], datetime] = utcnow,
                 periodic: Sequence[PeriodicJob] = ()):
        self.runtime, self.now = runtime, now
        self.periodic = tuple(periodic)
        self.started_at = now()
        self._intervals: dict[str, int] = {}
        self._forced: set[str] = set()      # "sync now" asked by a person skips the backoff once
        self.scheduler = BackgroundScheduler(
            timezone=timezone.utc, executors={"default": ThreadPoolExecutor(MAX_WORKERS)},
            # Never two passes of one inbox at once; a pass missed while busy runs once, not many times.
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300})

    def start(self) -> None:
        self.scheduler.start()
        self.refresh_jobs(first=True)
        self.scheduler.add_job(self.refresh_jobs, "interval", seconds=REFRESH_SECONDS, id="refresh-inboxes")
        for job in self.periodic:
            self.scheduler.add_job(_guarded(job), "interval", seconds=job.seconds, id=job.name,
                                   jitter=max(1, job.seconds // 10), next_run_time=self.now() + timedelta(seconds=2))

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; with wait, passes in flight finish (their work is committed per message)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def refresh_jobs(self, first: bool = False) -> None:
        with session_scope(self.runtime.engine) as session:
            wanted = {i.address: i.poll_interval_seconds or self.runtime.settings.poll_interval_seconds
                      for i in list_inboxes(session) if i.state in ("active", "error")}
        for address in set(self._intervals) - set(wanted):
            self._remove(address)
        for address, interval in wanted.items():
            if self._intervals.get(address) != interval:
                self._remove(address)
                self._add(address, interval, immediately=True)

    def _add(self, address: str, interval: int, immediately: bool) -> None:
        jitter = max(1, interval // 10)
        start = self.now() + timedelta(seconds=1) if immediately else None
        self.scheduler.add_job(self.run_pass, "interval", seconds=interval, jitter=jitter, args=[address],
                               id=_job_id(address), next_run_time=start, replace_existing=True)
        self._intervals[address] = interval
        log.info("scheduled %s every %ss", address, interval)

    def _remove(self, address: str) -> None:
        self._intervals.pop(address, None)
        try:
            self.scheduler.remove_job(_job_id(address))
        except JobLookupError:
            pass

    def run_pass(self, address: str) -> None:
        """The scheduled job. Honours the inbox's backoff; never raises into the scheduler."""
        try:
            with session_scope(self.runtime.engine) as session:
                inbox = get_inbox(session, address)
                forced = address in self._forced
                self._forced.discard(address)
                if inbox is None or (not forced and inbox.backoff_until and inbox.backoff_until > self.now()):
                    return
            sync_inbox(address, engine=self.runtime.engine, settings=self.runtime.settings,
                       open_gateway=self.runtime.open_gateway, now=self.now)
        except Exception:  # noqa: BLE001 — the daemon outlives any one inbox's trouble
            log.exception("pass over %s failed", address)

    # ---- hooks for the admin endpoint ------------------------------------------------------

    def scheduler_running(self) -> bool:
        return bool(self.scheduler.running)

    def next_run(self, address: str) -> datetime | None:
        job = self.scheduler.get_job(_job_id(address))
        return job.next_run_time if job else None

    def sync_now(self, address: str) -> None:
        job = self.scheduler.get_job(_job_id(address))
        if job is None:
            raise LookupError(f"{address} is not scheduled (paused, needs re-authorisation, or unknown)")
        self._forced.add(address)
        job.modify(next_run_time=self.now())
