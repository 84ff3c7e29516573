"""The real django-helpdesk that scripts/start-django-helpdesk.sh starts, for tests: settings, an agent, its webhook.

The settings come from $DJANGO_HELPDESK_DIR/settings.env (DJANGO_HELPDESK_START=1 runs the script
first); without a server answering, the tests skip and say why. django-helpdesk calls its webhook
inside every write and answers 500 when nothing listens, so `events()` starts, once per test
process, the listener on DJANGO_HELPDESK_EVENTS_PORT that records each call it makes; while a test
has it `forward_to` a daemon's admin URL, it relays each call there as it came and answers what the
daemon answered (end-to-end tests: django-helpdesk's real calls reach the real daemon).
"""
from __future__ import annotations

import http.client
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from connector.helpdesk.django_helpdesk import DjangoHelpdesk
from connector.helpdesk.port import WebhookCall

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = (5, 30)
EVENTS_PATH = "/helpdesk/events/"
# django-helpdesk waits 3 s for its webhook (HELPDESK_WEBHOOK_TIMEOUT): a relay must answer sooner.
RELAY_TIMEOUT = 2.5


@dataclass(frozen=True)
class DjangoHelpdeskServer:
    url: str
    user: str
    password: str
    queue: str
    secret: str
    agent_user: str
    agent_password: str
    mail_dir: Path
    token: str

    def adapter(self, session: requests.Session | None = None, **overrides: Any) -> DjangoHelpdesk:
        values = {"user": self.user, "password": self.password, "webhook_secret": self.secret, **overrides}
        return DjangoHelpdesk(values.pop("url", self.url), session=session, **values)

    def mails(self) -> dict[str, str]:
        """Every mail django-helpdesk sent, by file name (Django's file backend: one file per message)."""
        return {path.name: path.read_text(errors="replace") for path in self.mail_dir.glob("*") if path.is_file()}


def directory() -> Path:
    return Path(os.environ.get("DJANGO_HELPDESK_DIR") or "/tmp/gmail-connector-django-helpdesk")


def find_server() -> DjangoHelpdeskServer:
    """The running test django-helpdesk, or pytest.skip with the reason."""
    where = directory()
    if os.environ.get("DJANGO_HELPDESK_START") == "1":
        done = subprocess.run([str(ROOT / "scripts/start-django-helpdesk.sh")], capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            pytest.skip("scripts/start-django-helpdesk.sh failed: " + (done.stderr.strip().splitlines() or ["?"])[-1])
    env_file = where / "settings.env"
    if not env_file.is_file():
        pytest.skip(f"no {env_file} (scripts/start-django-helpdesk.sh starts django-helpdesk)")
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    token_file = where / "api-token"
    server = DjangoHelpdeskServer(
        url=values["DJANGO_HELPDESK_URL"], user=values["DJANGO_HELPDESK_USER"],
        password=values["DJANGO_HELPDESK_PASSWORD"], queue=values["HELPDESK_QUEUES"].split("=", 1)[1],
        secret=values["HELPDESK_WEBHOOK_SECRET"], agent_user=values["DJANGO_HELPDESK_AGENT_USER"],
        agent_password=values["DJANGO_HELPDESK_AGENT_PASSWORD"], mail_dir=Path(values["DJANGO_HELPDESK_MAIL_DIR"]),
        token=token_file.read_text().strip() if token_file.is_file() else "")
    try:
        answer = requests.get(server.url + "/api/tickets/", params={"page_size": 1}, timeout=TIMEOUT,
                              auth=(server.user, server.password))
    except requests.RequestException as exc:
        pytest.skip(f"django-helpdesk does not answer on {server.url} ({type(exc).__name__}): "
                    "run scripts/start-django-helpdesk.sh")
    if answer.status_code != 200:
        pytest.skip(f"django-helpdesk on {server.url} answered {answer.status_code}: run "
                    "scripts/start-django-helpdesk.sh again")
    events()
    return server


class EventListener:
    """Records the webhook calls django-helpdesk makes, answering 202 as the connector does, or relays
    them to the daemon `forward_to` names (answering its status; 502 when it cannot be reached)."""

    def __init__(self, port: int):
        self.calls: list[WebhookCall] = []
        self.relayed: list[tuple[str, int]] = []     # (path, the daemon's status) of each relayed call
        self._target: str | None = None
        self._changed = threading.Condition()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                secret = self.path[len(EVENTS_PATH):] if self.path.startswith(EVENTS_PATH) else None
                listener._record(WebhookCall(headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                                             path_secret=secret or None, received_at=time.time()))
                target = listener._target
                status, kind, answer = (202, None, b"") if target is None else \
                    listener._relay(target, self.path, self.headers.items(), body)
                self.send_response(status)
                if kind:
                    self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="django-helpdesk-events", daemon=True).start()

    def forward_to(self, base_url: str | None) -> None:
        """Relay every call from now on to `base_url` (a daemon's admin URL), or record only (None)."""
        self._target = base_url.rstrip("/") if base_url else None

    @contextmanager
    def forwarding(self, base_url: str) -> Iterator[EventListener]:
        """`forward_to(base_url)` for the block: the listener outlives the daemon."""
        self.forward_to(base_url)
        try:
            yield self
        finally:
            self.forward_to(None)

    def _relay(self, target: str, path: str, headers: list[tuple[str, str]],
               body: bytes) -> tuple[int, str | None, bytes]:
        """The call as it came (path with its secret, every header in order, the body) to the daemon."""
        where = urlsplit(target)
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=RELAY_TIMEOUT)
        try:
            connection.putrequest("POST", where.path + path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            status, kind, answer = response.status, response.getheader("Content-Type"), response.read()
        except (OSError, http.client.HTTPException):     # the daemon is down or killed mid-answer
            status, kind, answer = 502, None, b""
        finally:
            connection.close()
        with self._changed:
            self.relayed.append((path, status))
            self._changed.notify_all()
        return status, kind, answer

    def _record(self, call: WebhookCall) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def wait_for(self, wanted: Callable[[WebhookCall], bool], timeout: float = 5.0) -> WebhookCall | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((call for call in self.calls if wanted(call)), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._changed.wait(left)


_listener: list[EventListener] = []
_listener_lock = threading.Lock()


def events() -> EventListener:
    """The one listener of this process (django-helpdesk's webhook URL is fixed when it starts)."""
    with _listener_lock:
        if not _listener:
            port = int(os.environ.get("DJANGO_HELPDESK_EVENTS_PORT") or 5491)
            try:
                _listener.append(EventListener(port))
            except OSError as exc:
                pytest.skip(f"cannot listen for django-helpdesk's webhook on 127.0.0.1:{port} ({exc.strerror})")
        return _listener[0]


class Agent:
    """An agent at work in django-helpdesk, through its API as DJANGO_HELPDESK_AGENT_USER (a staff user)."""

    def __init__(self, server: DjangoHelpdeskServer):
        self.url = server.url
        self.session = requests.Session()
        self.session.auth = (server.agent_user, server.agent_password)

    def ticket(self, number: str | int) -> dict[str, Any]:
        return self._json(self.session.get(f"{self.url}/api/tickets/{int(number)}/", timeout=TIMEOUT))

    def tickets(self) -> list[dict[str, Any]]:
        found, page = [], 1
        while True:
            body = self._json(self.session.get(f"{self.url}/api/tickets/", params={"page_size": 100, "page": page},
                                               timeout=TIMEOUT))
            found += body["results"]
            if not body.get("next"):
                return found
            page += 1

    def followups(self, number: str | int) -> list[dict[str, Any]]:
        return sorted(self.ticket(number)["followup_set"], key=lambda item: item["id"])

    def download(self, part: dict[str, Any]) -> bytes:
        answer = self.session.get(part["file"], timeout=TIMEOUT)
        answer.raise_for_status()
        return answer.content

    def files(self, followup: dict[str, Any]) -> dict[str, bytes]:
        return {part["filename"]: self.download(part) for part in followup["followupattachment_set"]}

    def write(self, number: str | int, text: str, *, public: bool = True, status: int | None = None,
              files: tuple[tuple[str, bytes, str], ...] = ()) -> dict[str, Any]:
        """A follow-up as the agent: an answer (public) or a note; `status` 3 resolves the ticket."""
        data: dict[str, Any] = {"ticket": int(number), "comment": text, "public": "true" if public else "false"}
        if status is not None:
            data["new_status"] = status
        parts = [("attachments", file) for file in files] or None
        return self._json(self.session.post(f"{self.url}/api/followups/", data=data, files=parts, timeout=TIMEOUT))

    def close(self) -> None:
        self.session.close()

    @staticmethod
    def _json(answer: requests.Response) -> Any:
        answer.raise_for_status()
        return answer.json()

