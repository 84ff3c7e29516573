"""What the push benchmarks share: a Pub/Sub emulator with a topic and subscription of the run's own,
push settings for a daemon, and a store watcher that sees tickets commit.

The emulator is started through scripts/start-pubsub.sh on a port and directory of our own (so a
developer's or CI's emulator on 5485 is left alone) and stopped afterwards; with `--pubsub
HOST:PORT` an emulator already running is reused, and only the run's topic and subscription are
removed from it at the end.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from sqlmodel import select

from connector.store.db import session_scope
from connector.store.models import Inbox, RawMail
from connector.store.push import healthy_watches
from connector.store.types import utcnow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "start-pubsub.sh"
PROJECT = "gmail-connector-test"
ACK_DEADLINE = 10            # as scripts/start-pubsub.sh and the push tests use


@dataclass(frozen=True)
class PushChannel:
    """Where the sandbox publishes and the daemon pulls."""
    host: str                # "127.0.0.1:PORT", as PUBSUB_EMULATOR_HOST spells it
    project: str
    topic: str
    subscription: str

    def settings(self) -> dict:
        """The daemon's push settings, as keyword arguments of `Settings`."""
        return dict(pubsub_topic=self.topic, pubsub_subscription=self.subscription, pubsub_emulator_host=self.host)

    def env(self) -> dict:
        """The same for a `gmail-connector run` subprocess."""
        return dict(PUBSUB_TOPIC=self.topic, PUBSUB_SUBSCRIPTION=self.subscription, PUBSUB_EMULATOR_HOST=self.host)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rest(host: str, method: str, name: str, body: dict | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{host}/v1/{name}", data, {"Content-Type": "application/json"},
                                     method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def _start_emulator(directory: Path) -> tuple[str, str, int | None]:
    env = {**os.environ, "PUBSUB_TEST_DIR": str(directory), "PUBSUB_TEST_PORT": str(_free_port())}
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    pid_file = directory / "emulator.pid"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    if done.returncode != 0:
        _stop_emulator(pid)
        raise SystemExit(f"the Pub/Sub emulator did not start: {done.stderr.strip()[-500:]}")
    found = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return found["PUBSUB_EMULATOR_HOST"], found["PUBSUB_TOPIC"].split("/")[1], pid


def _stop_emulator(pid: int | None) -> None:
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGTERM)        # gcloud and its Java child share the process group
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)


@dataclass(frozen=True)
class Emulator:
    host: str
    project: str


@contextmanager
def emulator(work: Path, reuse: str | None = None) -> Iterator[Emulator]:
    """Our own emulator (stopped afterwards), or the one at `reuse` (left running)."""
    if reuse:
        yield Emulator(reuse, PROJECT)
        return
    (work / "pubsub").mkdir(parents=True, exist_ok=True)
    host, project, pid = _start_emulator(work / "pubsub")
    try:
        yield Emulator(host, project)
    finally:
        _stop_emulator(pid)


@contextmanager
def push_channel(where: Emulator) -> Iterator[PushChannel]:
    """A fresh topic and pull subscription for one scenario, deleted afterwards."""
    suffix = uuid.uuid4().hex[:10]
    topic = f"projects/{where.project}/topics/bench-{suffix}"
    subscription = f"projects/{where.project}/subscriptions/bench-{suffix}"
    try:
        _rest(where.host, "PUT", topic, {})
        _rest(where.host, "PUT", subscription, {"topic": topic, "ackDeadlineSeconds": ACK_DEADLINE})
        yield PushChannel(where.host, where.project, topic, subscription)
    finally:
        for name in (subscription, topic):          # subscription first, as the push tests do
            try:
                _rest(where.host, "DELETE", name)
            except (urllib.error.URLError, OSError):
                pass


def ready(engine, addresses: set[str]) -> int:
    """How many of `addresses` have a working watch and a cursor (their first pass is done)."""
    with session_scope(engine) as session:
        watched = healthy_watches(session, addresses, utcnow())
        synced = set(session.exec(select(Inbox.address).where(Inbox.address.in_(addresses),
                                                              Inbox.history_id.is_not(None))))
    return len(watched & synced)


def processed_at(engine, ids) -> dict[str, datetime]:
    """`raw_mails.processed_at` (the commit of the mail's ticket) of those of `ids` already processed."""
    query = select(RawMail.gmail_id, RawMail.processed_at).where(RawMail.gmail_id.in_(list(ids)),
                                                                 RawMail.state == "processed")
    with session_scope(engine) as session:
        return {gid: at for gid, at in session.exec(query).all() if at is not None}


def watch_for_tickets(engine, arrived: dict[str, datetime], timeout: float, step: float = 0.02) -> dict:
    """Poll the store every `step` s until every arrived mail is ticketed (or `timeout`): for each, its
    processed_at and the moment this loop first saw it (an upper bound that includes the poll step)."""
    seen: dict[str, datetime] = {}
    committed: dict[str, datetime] = {}
    deadline = time.monotonic() + timeout
    while len(committed) < len(arrived) and time.monotonic() < deadline:
        found = processed_at(engine, set(arrived) - set(committed))
        now = datetime.now(next(iter(arrived.values())).tzinfo)
        for gid, at in found.items():
            committed[gid], seen[gid] = at, now
        time.sleep(step)
    return {"committed": committed, "seen": seen}


def percentiles(values: list[float]) -> dict:
    """p50, p95 (statistics.quantiles, inclusive: never above the max), max and mean of latencies in seconds."""
    if not values:
        return {"p50_seconds": None, "p95_seconds": None, "max_seconds": None, "mean_seconds": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"p50_seconds": round(cuts[49], 3), "p95_seconds": round(cuts[94], 3),
            "max_seconds": round(max(values), 3), "mean_seconds": round(statistics.fmean(values), 3)}
