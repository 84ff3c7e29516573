"""Fixtures for Gmail push tests: Google's own Pub/Sub emulator, as scripts/start-pubsub.sh starts it.

With TEST_PUBSUB_EMULATOR_HOST set (CI exports what the script prints, prefixed TEST_) the tests use that emulator;
otherwise the session starts a throwaway one on a free port and stops it at the end; without the
emulator installed they skip and say why. Each test gets its own topic and subscription, made
through the emulator's REST API (never through the adapter under test), so tests cannot interfere.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import requests

from connector.pubsub.google import GooglePubSub

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "start-pubsub.sh"
ACK_DEADLINE = 10          # Pub/Sub's minimum: redelivery tests wait as little as possible
TIMEOUT = (2, 10)


@dataclass(frozen=True)
class Emulator:
    host: str              # "127.0.0.1:PORT", as PUBSUB_EMULATOR_HOST spells it
    project: str
    pid: int | None = None     # set when these tests started it, so they stop it

    def stop(self) -> None:
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)     # gcloud and its Java child share the group
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{self.pid}").exists():
            time.sleep(0.1)


def installed_reason() -> str:
    """Empty when the emulator is installed; otherwise why not."""
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return "gcloud is not on PATH (apt-get install google-cloud-cli-pubsub-emulator)"
    jar_dir = Path(os.path.realpath(gcloud)).parent.parent / "platform" / "pubsub-emulator" / "lib"
    if not jar_dir.is_dir():
        return f"{jar_dir} is missing (apt-get install google-cloud-cli-pubsub-emulator)"
    return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_emulator(directory: Path) -> Emulator:
    """A new emulator of our own, on a free port, through the script CI uses."""
    env = {**os.environ, "PUBSUB_TEST_DIR": str(directory), "PUBSUB_TEST_PORT": str(free_port())}
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=90)
    pid_file = directory / "emulator.pid"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    if done.returncode != 0:
        Emulator("", "", pid).stop()
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"Pub/Sub emulator could not be started: {reason}")
    settings = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return Emulator(settings["PUBSUB_EMULATOR_HOST"], settings["PUBSUB_TOPIC"].split("/")[1], pid)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory) -> Iterator[Emulator]:
    # TEST_ names, as TEST_DATABASE_URL: the daemon's own PUBSUB_* settings must not leak into other tests.
    host = os.environ.get("TEST_PUBSUB_EMULATOR_HOST", "")
    if host:
        named = os.environ.get("TEST_PUBSUB_SUBSCRIPTION") or os.environ.get("TEST_PUBSUB_TOPIC") or "projects/test/"
        yield Emulator(host, named.split("/")[1])
        return
    reason = installed_reason()
    if reason:
        pytest.skip(f"Pub/Sub emulator not installed: {reason}")
    started = start_emulator(tmp_path_factory.mktemp("pubsub"))
    yield started
    started.stop()


class EmulatorAdmin:
    """Topics, subscriptions and publishing straight through the emulator's REST API."""

    def __init__(self, emulator: Emulator):
        self.api = f"http://{emulator.host}/v1/"
        self.project = emulator.project
        self.session = requests.Session()
        self.made: list[str] = []

    def _put(self, name: str, body: dict) -> str:
        response = self.session.put(self.api + name, json=body, timeout=TIMEOUT)
        response.raise_for_status()
        self.made.append(name)
        return name

    def topic(self) -> str:
        return self._put(f"projects/{self.project}/topics/topic-{uuid.uuid4().hex[:12]}", {})

    def subscription(self, topic: str) -> str:
        name = f"projects/{self.project}/subscriptions/sub-{uuid.uuid4().hex[:12]}"
        return self._put(name, {"topic": topic, "ackDeadlineSeconds": ACK_DEADLINE})

    def publish(self, topic: str, data: bytes) -> str:
        body = {"messages": [{"data": base64.b64encode(data).decode("ascii")}]}
        response = self.session.post(f"{self.api}{topic}:publish", json=body, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["messageIds"][0]

    def notify(self, topic: str, email: str, history_id: int | str) -> str:
        """What Gmail publishes after users.watch when the mailbox changes."""
        return self.publish(topic, json.dumps({"emailAddress": email, "historyId": history_id}).encode())

    def delete(self, name: str) -> None:
        self.session.delete(self.api + name, timeout=TIMEOUT)

    def close(self) -> None:
        for name in reversed(self.made):      # subscriptions first: the emulator keeps what is left
            self.delete(name)
        self.session.close()


@dataclass(frozen=True)
class Channel:
    """One test's own topic and subscription, and the adapter pulling from it."""
    topic: str
    subscription: str
    source: GooglePubSub


@pytest.fixture
def admin(emulator: Emulator) -> Iterator[EmulatorAdmin]:
    made = EmulatorAdmin(emulator)
    yield made
    made.close()


@pytest.fixture
def channel(emulator: Emulator, admin: EmulatorAdmin) -> Iterator[Channel]:
    topic = admin.topic()
    subscription = admin.subscription(topic)
    with GooglePubSub(subscription, emulator_host=emulator.host) as source:
        yield Channel(topic, subscription, source)
