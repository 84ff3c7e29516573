"""What every benchmark shares: a wired sandbox inbox, the sandbox's stats, a table, a JSON result."""
from __future__ import annotations

import json
import platform
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from connector.bootstrap import Runtime, bootstrap
from connector.cli.inboxes_cmd import connect_inbox
from connector.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
SUPPORT = "support@masociete.com"


def connected_runtime(srv, data_dir: Path, address: str = SUPPORT, **settings) -> Runtime:
    """A runtime on a fresh store with `address` connected, as `inboxes add --credentials` would."""
    runtime = bootstrap(Settings(data_dir=data_dir, gmail_api_endpoint=srv.url, **settings))
    info = json.loads((Path(srv.state_dir) / f"{address}.json").read_text())
    connect_inbox(runtime, address, "authorized_user", info, "Support")
    return runtime


def sandbox_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_sandbox/stats", timeout=10) as answer:
        return json.loads(answer.read())


@dataclass
class StatsSampler:
    """Reads /_sandbox/stats every `interval` seconds in a thread: the per-second units timeline."""
    url: str
    address: str = SUPPORT
    interval: float = 1.0
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "StatsSampler":
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="stats-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        units = sandbox_stats(self.url)["mailboxes"][self.address]["units_total"]
        self.samples.append((time.monotonic() - self._t0, units))

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()

    def per_minute(self) -> list[int]:
        """Units charged in each whole minute since start (the last, partial minute included)."""
        minutes: list[int] = []
        previous = 0
        for t, units in self.samples:
            index = int(t // 60)
            while len(minutes) <= index:
                minutes.append(0)
            minutes[index] += units - previous
            previous = units
        return minutes


def machine() -> dict:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def print_table(title: str, rows: list[tuple[str, object]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}\n" + "-" * len(title))
    for name, value in rows:
        shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        print(f"{name:<{width}}  {shown}")


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2, default=str) + "\n")
    print(f"\nwritten: {path.relative_to(RESULTS.parent.parent)}")
    return path


def wait_until(predicate, timeout: float, step: float = 0.2) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
