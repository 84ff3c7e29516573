"""Request Tracker as the end-to-end tests see it: read back as RT's root through REST 2.0, stopped and restarted.

The test RT (scripts/start-rt.sh) is shared by every run and keeps its database, so a test reads
only the tickets created in its own time window and keeps those whose Gmail-Connector-Key carries
its installation's key (`gmc-<installation>-t<ticket>`).
"""
from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from sqlmodel import Session

from connector.store.db import make_engine
from connector.store.helpdesk_models import Installation

ROOT = ("root", "password")              # a fresh test RT's superuser (docs/request-tracker.md)
REPO = Path(__file__).resolve().parents[2]
RT_DIR = Path(os.environ.get("RT_TEST_DIR", "/tmp/gmail-connector-rt"))
MESSAGE_TYPES = ("Create", "Correspond", "Comment")
TIMEOUT = (5, 30)
SKIP_REASON = "RT_URL is not set (eval \"$(scripts/start-rt.sh | sed 's/^/export /')\" starts Request Tracker)"


def rt_settings() -> dict[str, str]:
    """The connector's RT settings from the environment; the test skips (with the reason) without them."""
    values = {name: os.environ.get(name, "") for name in ("RT_URL", "RT_USER", "RT_PASSWORD")}
    if not values["RT_URL"]:
        pytest.skip(SKIP_REASON)
    if not (values["RT_USER"] and values["RT_PASSWORD"]):
        pytest.skip("RT_USER and RT_PASSWORD are not set (scripts/start-rt.sh prints them)")
    return values


@dataclass(frozen=True)
class RTPart:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RTTransaction:
    id: int
    type: str
    creator: str
    key: str | None                        # Gmail-Connector-Message-Key, when the connector wrote it


@dataclass(frozen=True)
class RTTicket:
    id: int
    subject: str
    queue: str
    status: str
    requestors: tuple[str, ...]
    key: str                               # Gmail-Connector-Key

    def installation(self) -> str | None:
        parts = self.key.split("-")
        return parts[1] if len(parts) >= 3 and parts[0] == "gmc" else None


class RTRoot:
    """REST 2.0 as root: sees every ticket, transaction and attachment, and answers as an agent would."""

    def __init__(self, url: str):
        self.api = url.rstrip("/") + "/REST/2.0"
        self.session = requests.Session()
        self.session.auth = ROOT

    def close(self) -> None:
        self.session.close()

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self.api + path, params=params, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def pages(self, path: str, **params: Any) -> Iterator[dict]:
        page = 1
        while True:
            found = self.get(path, page=page, per_page=100, **params)
            yield from found.get("items") or []
            if page >= int(found.get("pages") or 1):
                return
            page += 1

    def tickets(self, since: datetime, key_like: str = "gmc-%") -> list[RTTicket]:
        """Tickets with a connector key created since `since` (RT's clock is this machine's, in UTC)."""
        when = since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        query = f"CF.{{Gmail-Connector-Key}} LIKE '{key_like}' AND Created >= '{when}'"
        items = self.pages("/tickets", query=query, orderby="id", order="ASC",
                           fields="Subject,Queue,Status,Requestor,CustomFields", **{"fields[Queue]": "Name"})
        return [_ticket(item) for item in items]

    def tickets_of(self, installation: str, since: datetime) -> list[RTTicket]:
        return [t for t in self.tickets(since) if t.installation() == installation]

    def transactions(self, ticket_id: int, types: tuple[str, ...] = MESSAGE_TYPES) -> list[RTTransaction]:
        """The ticket's transactions of these types, oldest first, with the message key the connector set."""
        items = self.pages(f"/ticket/{ticket_id}/history", fields="Type,Creator,CustomFields")
        return [RTTransaction(int(item["id"]), item["Type"], item["Creator"]["id"],
                              _field(item, "Gmail-Connector-Message-Key"))
                for item in items if item["Type"] in types]

    def parts(self, transaction_id: int) -> list[RTPart]:
        """The transaction's MIME parts with their decoded bytes (multipart containers included)."""
        parts = []
        for item in self.pages(f"/transaction/{transaction_id}/attachments"):
            part = self.get(f"/attachment/{item['id']}")
            parts.append(RTPart(part.get("Filename") or "", part.get("ContentType") or "",
                                base64.b64decode(part.get("Content") or "")))
        return parts

    def text(self, transaction_id: int) -> str:
        """What an agent reads: the text/plain and text/html bodies of the transaction."""
        return "\n".join(p.data.decode("utf-8", "replace") for p in self.parts(transaction_id)
                         if not p.filename and p.content_type in ("text/plain", "text/html"))

    def correspond(self, ticket_id: int, text: str) -> int:
        """An agent's reply in RT (root is the agent): the transaction id."""
        response = self.session.post(f"{self.api}/ticket/{ticket_id}/correspond", timeout=TIMEOUT,
                                     json={"Content": text, "ContentType": "text/plain"})
        response.raise_for_status()
        return int(response.headers["Location"].rstrip("/").rpartition("/")[2])


def _field(item: dict, name: str) -> str | None:
    values = [v for cf in item.get("CustomFields") or [] if cf.get("name") == name for v in cf.get("values") or []]
    return values[0] if values else None


def _ticket(item: dict) -> RTTicket:
    return RTTicket(id=int(item["id"]), subject=item.get("Subject") or "",
                    queue=(item.get("Queue") or {}).get("Name", ""), status=item.get("Status") or "",
                    requestors=tuple(u["id"] for u in item.get("Requestor") or []),
                    key=_field(item, "Gmail-Connector-Key") or "")


def window_start() -> datetime:
    """The start of a test's window in RT, a little early: RT's Created has whole seconds."""
    return datetime.now(timezone.utc) - timedelta(seconds=2)


def installation_of(database_url: str) -> str:
    """This connector's installation key, from its own database (table `installation`)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            row = session.get(Installation, 1)
            assert row is not None, "the connector made no installation key"
            return row.key
    finally:
        engine.dispose()


# ---- stopping and restarting the test RT ----------------------------------------------------------

def _server_pid() -> int | None:
    try:
        pid = int((RT_DIR / "rt-server.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"rt-server" in cmdline else None


def require_local_rt() -> None:
    """Skips unless RT is the one scripts/start-rt.sh runs here (the only one a test may stop)."""
    if _server_pid() is None:
        pytest.skip(f"RT_URL is not served by the rt-server of scripts/start-rt.sh ({RT_DIR / 'rt-server.pid'}),"
                    " which this test stops and restarts")


def stop_rt(timeout: float = 20) -> None:
    """Stop the test RT: its server leads its own process group (setsid in start-rt.sh)."""
    pid = _server_pid()
    if pid is None:
        raise AssertionError(f"no running rt-server in {RT_DIR / 'rt-server.pid'}")
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def start_rt() -> None:
    """scripts/start-rt.sh: restarts the server on the kept database (about 3 s), or finds it answering."""
    done = subprocess.run([str(REPO / "scripts" / "start-rt.sh")], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"scripts/start-rt.sh failed: {done.stderr[-2000:]}")


def rt_answers(url: str) -> bool:
    try:
        return requests.get(url.rstrip("/") + "/REST/2.0/rt", auth=ROOT, timeout=(2, 5)).status_code == 200
    except requests.RequestException:
        return False


# ---- the daemon as a subprocess -------------------------------------------------------------------

CLI = [sys.executable, "-c", "import sys; from connector.cli import main; sys.exit(main(sys.argv[1:]))"]


def start_daemon(log_file: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`gmail-connector run` in its own process group (its mail readers die with it); the admin URL.

    Its log goes to a file: a pipe nobody reads fills up and blocks the daemon."""
    log = open(log_file, "ab")
    try:
        daemon = subprocess.Popen([*CLI, "--env-file", "/dev/null", "run"], cwd=REPO,
                                  env=dict(env if env is not None else os.environ), stdout=subprocess.PIPE,
                                  stderr=log, text=True, start_new_session=True)
    finally:
        log.close()
    try:
        return daemon, _admin_url(daemon, log_file)
    except BaseException:
        kill_daemon(daemon)
        raise


def _admin_url(daemon: subprocess.Popen, log_file: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = daemon.stdout.readline()
        found = re.search(r"admin page: (http://\S+/)", line or "")
        if found:
            return found.group(1)
        if daemon.poll() is not None:
            break
    raise AssertionError(f"the daemon printed no admin URL: {log_file.read_text(errors='replace')[-3000:]}")


def stop_daemon(daemon: subprocess.Popen, log_file: Path | None = None) -> str:
    """SIGTERM and wait (SIGKILL after 20 s); the daemon's log."""
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_daemon(daemon)
    if daemon.stdout is not None:
        daemon.stdout.close()
    return log_file.read_text(errors="replace") if log_file is not None else ""


def kill_daemon(daemon: subprocess.Popen) -> None:
    """SIGKILL the daemon's whole process group, as a crash of its machine would."""
    try:
        os.killpg(daemon.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    daemon.wait(timeout=20)
    if daemon.stdout is not None:
        daemon.stdout.close()


def wait_for(predicate: Callable[[], Any], seconds: float, what: str, describe: Callable[[], Any] | None = None,
             every: float = 0.3) -> Any:
    """The predicate's first truthy value within `seconds`; else fails, saying what it waited for."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    seen = f" (last seen: {describe()})" if describe is not None else ""
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}{seen}")


def rt_mail_mentioning(addresses: tuple[str, ...]) -> list[str]:
    """Files of RT's captured outgoing mail (scripts/start-rt.sh) whose headers name any of these addresses."""
    found = []
    for path in sorted((RT_DIR / "outbox").glob("*")):
        head = path.read_bytes().split(b"\n\n", 1)[0].decode("utf-8", "replace").lower()
        if any(address.lower() in head for address in addresses):
            found.append(path.name)
    return found
