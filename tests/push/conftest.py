"""A daemon with push on: the sandbox publishing to Google's Pub/Sub emulator, the real listener pulling."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from connector.bootstrap import bootstrap, daemon_parts
from connector.cli.inboxes_cmd import connect_inbox
from connector.gmail.google import GoogleGmail
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.push import watch_of
from sandbox.server import SandboxServer

SUPPORT = "support@masociete.com"
BILLING = "billing@masociete.com"
CUSTOMER = "client@example.org"


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds}s: {what}")


@pytest.fixture
def push_channel(admin):
    """A topic and pull subscription of this test's own on the emulator."""
    topic = admin.topic()
    return topic, admin.subscription(topic)


@pytest.fixture
def sandbox(tmp_path, emulator):
    with SandboxServer(mailboxes=[SUPPORT, BILLING, CUSTOMER], state_dir=tmp_path / "sandbox", quota_tier="2026",
                       pubsub=emulator.host, pubsub_project=emulator.project) as srv:
        yield srv


class PushWorld:
    """Daemons wired as `gmail-connector run` wires them (scheduler + push listener), on one store."""

    def __init__(self, tmp_path: Path, sandbox, emulator, channel, database_url: str):
        self.tmp_path, self.sandbox, self.emulator = tmp_path, sandbox, emulator
        self.topic, self.subscription = channel
        self.database_url = database_url
        self.runtimes, self.parts = [], []

    def settings(self, **overrides) -> Settings:
        values = dict(data_dir=self.tmp_path / "data", database_url=self.database_url,
                      gmail_api_endpoint=self.sandbox.url, pubsub_topic=self.topic,
                      pubsub_subscription=self.subscription, pubsub_emulator_host=self.emulator.host,
                      poll_interval_seconds=3600, push_fallback_poll_seconds=3600, lease_ttl_seconds=6)
        values.update(overrides)
        return Settings(**values)

    def runtime(self, **overrides):
        runtime = bootstrap(self.settings(**overrides))
        runtime.gateway_factory = lambda credentials, s, **rules: GoogleGmail(
            credentials, s.gmail_api_endpoint, timeout=10, sleep=lambda _: None, **rules)
        self.runtimes.append(runtime)
        return runtime

    def connect(self, runtime, address: str, group: str = "Support") -> None:
        info = json.loads((Path(self.sandbox.state_dir) / f"{address}.json").read_text())
        connect_inbox(runtime, address, "authorized_user", info, group)

    def start_daemon(self, runtime):
        parts = daemon_parts(runtime)
        parts.scheduler.start()
        parts.push.start()
        self.parts.append(parts)
        return parts

    def stop_all(self) -> None:
        for parts in self.parts:
            parts.push.stop()
            parts.scheduler.stop()
        for runtime in self.runtimes:
            runtime.engine.dispose()

    def watch_row(self, runtime, address: str = SUPPORT):
        with session_scope(runtime.engine) as session:
            inbox = get_inbox(session, address)
            row = watch_of(session, inbox.id) if inbox is not None else None
            if row is not None:
                session.expunge(row)
            return row

    def cursor(self, runtime, address: str = SUPPORT) -> str | None:
        with session_scope(runtime.engine) as session:
            return get_inbox(session, address).history_id


@pytest.fixture
def world(tmp_path, sandbox, emulator, push_channel, database_url):
    made = PushWorld(tmp_path, sandbox, emulator, push_channel, database_url)
    yield made
    made.stop_all()
