"""The hostile-mail scene: a Gmail sandbox, a store with one inbox and one forwarded address, and
`gmail-connector run` as a real subprocess under an address-space limit, its memory sampled.

The sandbox runs in a process of its own too: its work on hostile mail (the stdlib parser, its
snippets) must not hold this process's GIL while the clients here time the daemon's answers.
Also used by bench/hostile.py, so everything here is plain classes and functions; the fixture at
the end only wires them for pytest.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from connector.bootstrap import bootstrap
from connector.cli.inboxes_cmd import connect_inbox
from connector.settings import Settings
from connector.store.addresses import add_external_address
from connector.store.db import session_scope
from connector.store.models import Comment, Inbox, RawMail, SuspendedMail

REPO = Path(__file__).resolve().parents[2]
SUPPORT = "support@masociete.com"                         # the Gmail inbox
EXTERNAL, FORWARDED = "aide@masociete.com", "aide@helpdesk.example.com"   # the SMTP path
DOMAIN = "helpdesk.example.com"
DAEMON_ADDRESS_SPACE = 2 << 30
RUN = [sys.executable, "-m", "connector.cli", "--env-file", "/dev/null", "run"]
SANDBOX = [sys.executable, "-m", "connector.cli", "--env-file", "/dev/null", "sandbox", "--port", "0", "--quota-tier", "2026", "--mailbox", SUPPORT]
_STORED_AS = re.compile(rb"stored as (\d+)")


def _wait_for_line(proc: subprocess.Popen, path: Path, pattern: str, what: str, seconds: float = 60) -> re.Match:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace"), re.M)
        if found:
            return found
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{what} did not start (exit {proc.poll()}):\n{_tail(path.with_suffix('.err'))}")


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


class SandboxProcess:
    """`gmail-connector sandbox` with the support mailbox; mail arrives through its control endpoint."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        out_path = state_dir / "sandbox.out"
        with open(out_path, "wb") as out, open(out_path.with_suffix(".err"), "wb") as err:
            self.proc = subprocess.Popen(SANDBOX + ["--state", str(state_dir)], cwd=state_dir, stdout=out,
                                         stderr=err, env={**os.environ, "PYTHONPATH": str(REPO)})
        self.url = _wait_for_line(self.proc, out_path, r"listening on (http://\S+)$", "the sandbox").group(1)

    def deliver(self, raw: bytes) -> tuple[str, bytes]:
        """The Gmail id, and the bytes Gmail now holds: the sandbox adds Delivered-To, as Gmail does."""
        body = json.dumps({"mailbox": SUPPORT, "raw": base64.urlsafe_b64encode(raw).decode()}).encode()
        request = urllib.request.Request(f"{self.url}/_sandbox/deliver", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as answer:
            gmail_id = json.loads(answer.read())["id"]
        return gmail_id, f"Delivered-To: {SUPPORT}\r\n".encode() + raw

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wire_store(data_dir: Path, database_url: str, sandbox: SandboxProcess) -> Engine:
    """The store the daemon will open: the Gmail inbox connected, the forwarded address mapped."""
    runtime = bootstrap(Settings(data_dir=data_dir, database_url=database_url, gmail_api_endpoint=sandbox.url))
    info = json.loads((sandbox.state_dir / f"{SUPPORT}.json").read_text())
    connect_inbox(runtime, SUPPORT, "authorized_user", info, "Support")
    with session_scope(runtime.engine) as session:
        add_external_address(session, EXTERNAL, FORWARDED, "Support")
    return runtime.engine


def _limit_address_space(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


class DaemonProcess:
    """`gmail-connector run` in its own process, on free ports, with its output in files."""

    def __init__(self, data_dir: Path, database_url: str, sandbox_url: str, memory: int = DAEMON_ADDRESS_SPACE,
                 **settings: str):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_", "TEST_DATABASE", "TOKEN_ENCRYPTION"))}
        env.update(DATA_DIR=str(data_dir), DATABASE_URL=database_url, GMAIL_API_ENDPOINT=sandbox_url,
                   ADMIN_BIND="127.0.0.1:0", SMTP_INBOUND_BIND="127.0.0.1:0", INBOUND_DOMAIN=DOMAIN,
                   POLL_INTERVAL_SECONDS="2", LOG_LEVEL="INFO", PYTHONPATH=str(REPO),
                   MALLOC_ARENA_MAX="2")          # thread arenas would eat the address space
        env.update({key.upper(): str(value) for key, value in settings.items()})
        self.stdout_path, self.stderr_path = data_dir / "daemon.out", data_dir / "daemon.err"
        data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(RUN, env=env, cwd=data_dir, stdout=out, stderr=err,
                                         preexec_fn=_limit_address_space(memory))
        self.pid = self.proc.pid
        admin = _wait_for_line(self.proc, self.stdout_path, r"admin page: (http://\S+?)/?$", "the daemon")
        smtp = _wait_for_line(self.proc, self.stdout_path, r"SMTP receiver: \S+:(\d+)", "the daemon")
        self.admin_url, self.smtp_port = admin.group(1), int(smtp.group(1))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def admin(self, method: str, path: str) -> tuple[int, object]:
        request = urllib.request.Request(self.admin_url + path, method=method, data=b"" if method == "POST" else None,
                                         headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.stderr_path, lines)

    def errors(self) -> list[str]:
        """Log lines at ERROR or above: each is worth reading in the report."""
        text = self.stderr_path.read_text(errors="replace")
        return [line for line in text.splitlines() if re.search(r" (ERROR|CRITICAL) ", line)]

    def stop(self, seconds: float = 60) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


def _status_kib(pid: int, *keys: str) -> list[int]:
    values = dict.fromkeys(keys, 0)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass                    # gone between listing and reading: a reader replaced
    return list(values.values())


def address_space_limit(pid: int) -> int | None:
    """The soft RLIMIT_AS of a process in bytes (None: unlimited), from /proc/PID/limits."""
    try:
        text = Path(f"/proc/{pid}/limits").read_text()
    except OSError:
        return None             # gone: a reader replaced
    for line in text.splitlines():
        if line.startswith("Max address space"):
            soft = line.split()[3]
            return None if soft == "unlimited" else int(soft)
    return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                found.update(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    return found


@dataclass
class MemorySampler:
    """RSS of the daemon and of its children (the mail readers) every `interval` seconds, in a thread."""
    pid: int
    interval: float = 0.02
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)   # t, daemon, children, largest child
    child_peaks: dict[int, int] = field(default_factory=dict)                  # VmHWM of each child seen
    daemon_peak: int = 0
    died_at: float | None = None

    def start(self) -> "MemorySampler":
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        own = _cmdline(self.pid)
        while not self._stop.wait(self.interval):
            rss, hwm = _status_kib(self.pid, "VmRSS", "VmHWM")
            if not rss:
                self.died_at = self.died_at or time.time()
                continue
            self.daemon_peak = max(self.daemon_peak, hwm)
            children = []
            for child in children_of(self.pid):
                if _cmdline(child) == own:
                    continue        # forked, not yet exec'ed: the daemon's pages, counted once already
                child_rss, child_hwm = _status_kib(child, "VmRSS", "VmHWM")
                children.append(child_rss)
                self.child_peaks[child] = max(self.child_peaks.get(child, 0), child_hwm)
            self.samples.append((time.time(), rss, sum(children), max(children, default=0)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> dict[str, int]:
        """Highest RSS seen between two wall-clock moments: the daemon, its readers together, the largest reader."""
        inside = [s for s in self.samples if start <= s[0] <= end] or self.samples[-1:]
        return {"daemon_rss": max((s[1] for s in inside), default=0),
                "readers_rss": max((s[2] for s in inside), default=0),
                "largest_reader_rss": max((s[3] for s in inside), default=0)}


class SmtpConversation:
    """One SMTP client on a raw socket: it sends bytes smtplib never would (Latin-1 in MAIL FROM)."""

    def __init__(self, port: int, timeout: float = 120):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def reply(self) -> tuple[int, bytes]:
        lines = [self.reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(self.reader.readline())
        return int(lines[-1][:3] or 0), b"".join(lines).strip()

    def command(self, line: bytes) -> tuple[int, bytes]:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"QUIT\r\n")
        self.reader.close()
        self.sock.close()


@dataclass
class Sent:
    """One message handed to the connector, and what it should become."""
    path: str                       # gmail | smtp
    name: str                       # the hostile input's name, or "ordinary"
    raw: bytes                      # the exact bytes the store must keep
    sent_at: float                  # wall clock, like the daemon's processed_at
    held: bool = False
    reason: str = ""
    gmail_id: str | None = None
    raw_id: int | None = None
    envelope_from: bytes = b""
    replies: list[tuple[int, bytes]] = field(default_factory=list)
    answered_at: float | None = None


def deliver_gmail(sandbox: SandboxProcess, name: str, raw: bytes, held: bool = False, reason: str = "") -> Sent:
    sent_at = time.time()
    gmail_id, stored = sandbox.deliver(raw)
    return Sent("gmail", name, stored, sent_at, held, reason, gmail_id=gmail_id)


def send_smtp(port: int, name: str, raw: bytes, held: bool = False, reason: str = "", *,
              mail_from: bytes = b"client@example.org", options: bytes = b"") -> Sent:
    """EHLO, MAIL, RCPT, DATA on one connection; every reply kept, the stored row's id from the last."""
    sent = Sent("smtp", name, raw, time.time(), held, reason, envelope_from=mail_from)
    client = SmtpConversation(port)
    try:
        steps = [None, b"EHLO client.example.org", b"MAIL FROM:<" + mail_from + b">" + options,
                 f"RCPT TO:<{FORWARDED}>".encode(), b"DATA"]
        for step, wanted in zip(steps, (220, 250, 250, 250, 354)):
            sent.replies.append(client.reply() if step is None else client.command(step))
            if sent.replies[-1][0] != wanted:
                return sent
        client.sock.sendall(re.sub(rb"(?m)^\.", b"..", raw) + b".\r\n")
        sent.replies.append(client.reply())
        sent.answered_at = time.time()
        found = _STORED_AS.search(sent.replies[-1][1])
        sent.raw_id = int(found.group(1)) if found and sent.replies[-1][0] == 250 else None
    finally:
        client.close()
    return sent


class InnocentClient:
    """Another sender's client, in a thread, timing how long each RCPT waits for its answer."""

    def __init__(self, port: int, pause: float = 0.1):
        self.port, self.pause = port, pause
        self.probes: list[tuple[float, float, list[int]]] = []      # when, RCPT seconds, every code
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="innocent-smtp-client", daemon=True)

    def start(self) -> "InnocentClient":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.probe()
            except OSError as exc:
                self.failures.append(repr(exc))
            self._stop.wait(self.pause)

    def probe(self) -> None:
        client = SmtpConversation(self.port, timeout=30)
        try:
            codes = [client.reply()[0], client.command(b"EHLO innocent.example.org")[0],
                     client.command(b"MAIL FROM:<innocent@example.org>")[0]]
            asked = time.monotonic()
            codes.append(client.command(f"RCPT TO:<{FORWARDED}>".encode())[0])
            self.probes.append((time.time(), time.monotonic() - asked, codes + [client.command(b"RSET")[0]]))
        finally:
            client.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def slowest_rcpt(self, start: float = 0, end: float = float("inf")) -> float:
        return max((s for t, s, _ in self.probes if start <= t <= end), default=0.0)


@dataclass(frozen=True)
class Fact:
    """What the store says became of one Sent message."""
    raw_id: int
    state: str
    outcome: str
    stored_at: float
    processed_at: float | None
    raw_kept: bool                  # the row holds the exact bytes, with their size and sha256
    envelope_from: str | None
    suspended_id: int | None
    kind: str
    reason: str
    ticket_id: int | None


def _wall(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _rows(engine: Engine, sent: list[Sent]) -> dict[int, RawMail]:
    """Raw rows (without their bytes) of the messages, by index in `sent`."""
    gmail = {s.gmail_id: i for i, s in enumerate(sent) if s.gmail_id}
    smtp = {s.raw_id: i for i, s in enumerate(sent) if s.raw_id is not None}
    with Session(engine.execution_options(sqlite_deferred=True)) as session:
        query = select(RawMail).options(defer(RawMail.raw)).where(
            RawMail.gmail_id.in_(list(gmail)) | RawMail.id.in_(list(smtp)))
        rows = list(session.exec(query))
        session.expunge_all()
    return {gmail[r.gmail_id] if r.gmail_id in gmail else smtp[r.id]: r for r in rows}


def wait_processed(engine: Engine, sent: list[Sent], seconds: float) -> bool:
    """True once every message is stored and has left `pending`; False when `seconds` run out."""
    deadline = time.monotonic() + seconds
    wanted = [i for i, s in enumerate(sent) if s.gmail_id or s.raw_id is not None]
    while time.monotonic() < deadline:
        rows = _rows(engine, sent)
        if all(i in rows and rows[i].state != "pending" for i in wanted):
            return True
        time.sleep(0.1)
    return False


def facts(engine: Engine, sent: list[Sent]) -> dict[int, Fact]:
    """What became of each message, by its index in `sent` (absent: never stored)."""
    found: dict[int, Fact] = {}
    with Session(engine.execution_options(sqlite_deferred=True)) as session:
        for index, row in _rows(engine, sent).items():
            raw = session.exec(select(RawMail.raw).where(RawMail.id == row.id)).one()
            expected = sent[index].raw
            held = session.exec(select(SuspendedMail).where(SuspendedMail.raw_mail_id == row.id)).first()
            ticket = session.exec(select(Comment.ticket_id).where(Comment.raw_mail_id == row.id)).first()
            found[index] = Fact(
                raw_id=row.id, state=row.state, outcome=row.outcome, stored_at=_wall(row.received_at),
                processed_at=_wall(row.processed_at),
                raw_kept=(bytes(raw) == expected and row.size == len(expected)
                          and row.sha256 == hashlib.sha256(expected).hexdigest()),
                envelope_from=row.envelope_from, suspended_id=held.id if held else None,
                kind=held.kind if held else "", reason=held.reason if held else "", ticket_id=ticket)
    return found


def wait_first_pass(engine: Engine, seconds: float = 60) -> None:
    """The daemon's first (empty) backfill is done: later deliveries come through the history."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with Session(engine.execution_options(sqlite_deferred=True)) as session:
            inbox = session.exec(select(Inbox).where(Inbox.address == SUPPORT)).one()
            if inbox.backfill_done and inbox.history_id:
                return
        time.sleep(0.1)
    raise AssertionError("the daemon's first pass over the Gmail inbox never finished")


@dataclass
class Scene:
    sandbox: SandboxProcess
    engine: Engine
    daemon: DaemonProcess
    memory: MemorySampler


@contextlib.contextmanager
def hostile_scene(data_dir: Path, database_url: str, sandbox_state: Path, **settings: str) -> Iterator[Scene]:
    """Sandbox, store and daemon up, the first pass done; everything stopped afterwards."""
    sandbox = SandboxProcess(sandbox_state)
    engine = daemon = memory = None
    try:
        engine = wire_store(data_dir, database_url, sandbox)
        daemon = DaemonProcess(data_dir, database_url, sandbox.url, **settings)
        memory = MemorySampler(daemon.pid).start()
        wait_first_pass(engine)
        yield Scene(sandbox, engine, daemon, memory)
    finally:
        if memory is not None:
            memory.stop()
        if daemon is not None:
            daemon.stop()
        if engine is not None:
            engine.dispose()
        sandbox.stop()


@pytest.fixture
def scene(tmp_path, database_url) -> Iterator[Scene]:
    with hostile_scene(tmp_path / "data", database_url, tmp_path / "sandbox") as built:
        yield built
