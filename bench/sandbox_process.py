"""The sandbox in a process of its own (`gmail-connector sandbox`), as Gmail is to a real daemon.

For benchmarks whose daemon should not share its interpreter (and GIL) with the sandbox.
"""
from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path


class SandboxProcess:
    def __init__(self, addresses: list[str], state_dir: Path, pubsub: str, project: str):
        self.addresses, self.state_dir, self.pubsub, self.project = addresses, Path(state_dir), pubsub, project
        self.url = ""
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "SandboxProcess":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-m", "connector.cli", "--env-file", "/dev/null", "sandbox", "--port", str(port),
                   "--state", str(self.state_dir), "--quota-tier", "2026", "--pubsub", self.pubsub,
                   "--pubsub-project", self.project]
        for address in self.addresses:
            command += ["--mailbox", address]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self._process.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"the sandbox did not start: {line.strip() or 'no output'}")
        self.url = line.rsplit(" ", 1)[-1].strip()
        return self

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=20)

    def _call(self, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.url + path, data, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def deliver(self, address: str, raw: bytes) -> str:
        return self._call("/_sandbox/deliver", {"to": address, "raw": base64.urlsafe_b64encode(raw).decode()})["id"]

    def calls(self, address: str) -> dict:
        return self._call("/_sandbox/stats")["mailboxes"][address]["calls"]
