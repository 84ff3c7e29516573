"""A connector wired to a fresh Gmail sandbox and a real store (SQLite or PostgreSQL), as `run` would wire it."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from connector.bootstrap import bootstrap
from connector.cli.inboxes_cmd import connect_inbox
from connector.gmail.google import GoogleGmail
from connector.settings import Settings
from jobs.sync_inbox import sync_inbox
from sandbox.server import SandboxServer

SUPPORT = "support@masociete.com"
BILLING = "billing@masociete.com"
CUSTOMER = "customer@gmail.com"


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(mailboxes=[SUPPORT, BILLING, CUSTOMER], state_dir=tmp_path / "sandbox",
                       quota_tier="2026", port=0) as srv:
        yield srv


def make_runtime(tmp_path: Path, sandbox, database_url: str = "", **overrides):
    """An empty `database_url` means the SQLite file under tmp_path/data, for tests that open it directly."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url,
                        gmail_api_endpoint=sandbox.url, **overrides)
    runtime = bootstrap(settings)
    # Same adapter as production, but retries do not sleep in tests.
    runtime.gateway_factory = lambda credentials, s, **rules: GoogleGmail(credentials, s.gmail_api_endpoint,
                                                                 timeout=10, sleep=lambda _: None, **rules)
    return runtime


@pytest.fixture
def runtime(tmp_path, sandbox, database_url):
    runtime = make_runtime(tmp_path, sandbox, database_url)
    yield runtime
    # Pooled PostgreSQL connections left to the garbage collector raise ResourceWarning (an error here).
    runtime.engine.dispose()


def connect(runtime, sandbox, address: str, group: str = "Support") -> None:
    info = json.loads((Path(sandbox.state_dir) / f"{address}.json").read_text())
    connect_inbox(runtime, address, "authorized_user", info, group)


def sync(runtime, address: str = SUPPORT):
    return sync_inbox(runtime, address)


def control(sandbox, path: str, payload: dict | None = None, method: str = "POST") -> dict:
    data = json.dumps(payload or {}).encode() if method != "GET" else None
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read().decode() or "{}")


def stats(sandbox, address: str = SUPPORT) -> dict:
    return control(sandbox, "stats", method="GET")["mailboxes"][address]
