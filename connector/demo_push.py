"""`gmail-connector demo` with Gmail push: a throwaway Pub/Sub emulator when Google's is installed.

Started through scripts/start-pubsub.sh (a checkout has it), on a free port, in the demo's own
directory; stopped with the demo. When it cannot start, the demo polls and says why.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "start-pubsub.sh"


@dataclass
class DemoPubSub:
    host: str
    topic: str
    subscription: str
    project: str
    pid_file: Path

    def stop(self) -> None:
        try:
            pid = int(self.pid_file.read_text())
            os.killpg(pid, signal.SIGTERM)      # gcloud and its Java child share the group
        except (OSError, ValueError):
            pass


def start_demo_pubsub(directory: Path) -> tuple[DemoPubSub | None, str]:
    """The emulator and its settings, or None and why the demo polls instead."""
    if not SCRIPT.is_file():
        return None, "scripts/start-pubsub.sh is not here (not a checkout)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PUBSUB_TEST_DIR": str(directory), "PUBSUB_TEST_PORT": str(port)}
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        # umask 077: the emulator's files sit in DATA_DIR, which holds mail and keys (0600/0700 only).
        done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=90, umask=0o077)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"the Pub/Sub emulator did not start ({type(exc).__name__})"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        return None, lines[-1].removeprefix("start-pubsub: ")
    found = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    topic = found["PUBSUB_TOPIC"]
    return DemoPubSub(found["PUBSUB_EMULATOR_HOST"], topic, found["PUBSUB_SUBSCRIPTION"], topic.split("/")[1],
                      directory / "emulator.pid"), ""
