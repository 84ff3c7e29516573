"""A Gmail sandbox on 127.0.0.1 for the adapter's integration tests, and adapters pointed at it."""
from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connector.gmail.google import GoogleGmail
from oauth.gmail_access import token_failure
from oauth.credentials import load_authorized_user

SUPPORT = "support@masociete.com"
ALICE = "alice@gmail.com"
SALES = "sales@masociete.com"     # driven to its daily sending cap; no other test sends from it


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    try:
        from sandbox.server import SandboxServer
    except ImportError:
        pytest.skip("sandbox.server is not available yet")
    state_dir = tmp_path_factory.mktemp("gmail-sandbox")
    with SandboxServer(mailboxes=[SUPPORT, ALICE, SALES], state_dir=state_dir, quota_tier="off", port=0) as srv:
        srv.state_dir = Path(state_dir)
        yield srv


def sandbox_post(srv, path: str, payload: dict) -> dict:
    request = urllib.request.Request(f"{srv.url}{path}", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode() or "{}"
    return json.loads(text)


def sandbox_stats(srv) -> dict:
    with urllib.request.urlopen(f"{srv.url}/_sandbox/stats", timeout=10) as answer:
        return json.loads(answer.read().decode())


def method_calls(srv, mailbox: str, method: str) -> int:
    return int(sandbox_stats(srv)["mailboxes"][mailbox]["calls"].get(method, 0))


def user_credentials(srv, mailbox: str):
    info = json.loads((Path(srv.state_dir) / f"{mailbox}.json").read_text())
    # google-auth ignores a token_uri written in the file; aiming at the sandbox is explicit.
    return load_authorized_user(info, token_uri_override=info["token_uri"])


@dataclass
class Adapter:
    """The adapter under test plus what it told its injected sleep and call counter."""
    gmail: GoogleGmail
    sleeps: list[float] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


def make_adapter(srv, mailbox: str = SUPPORT, credentials=None, **kwargs) -> Adapter:
    probe = Adapter(gmail=None)  # type: ignore[arg-type]
    probe.gmail = GoogleGmail(credentials or user_credentials(srv, mailbox), srv.url, timeout=10,
                              sleep=probe.sleeps.append, rng=lambda: 0.5, on_call=probe.calls.append,
                              on_token_failure=token_failure, **kwargs)
    return probe


@pytest.fixture
def adapters(sandbox):
    """make(mailbox=SUPPORT, **kwargs) -> Adapter; every adapter made is closed after the test."""
    made: list[Adapter] = []

    def make(mailbox: str = SUPPORT, **kwargs) -> Adapter:
        made.append(make_adapter(sandbox, mailbox, **kwargs))
        return made[-1]

    yield make
    for adapter in made:
        adapter.gmail.close()


@pytest.fixture
def support(adapters) -> Adapter:
    return adapters()
