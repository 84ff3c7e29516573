"""`SandboxServer`: the sandbox core behind its HTTP face in a background thread, plus its state files."""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from sandbox.app import App
from sandbox.core import Sandbox
from sandbox.http import SandboxHTTPServer
from sandbox.oauth import FULL_SCOPE, GMAIL
from sandbox.persist import StateFile

log = logging.getLogger(__name__)

# mail.google.com covers every method except the settings ones, whose discovery scope lists omit it.
DEFAULT_USER_SCOPES = (FULL_SCOPE, GMAIL + "settings.basic", GMAIL + "settings.sharing")


# The forwarding confirmation link is a GET, as Google's is, yet it changes the mailbox's settings.
_CHANGING_GETS = frozenset({"/_sandbox/forwarding/confirm"})


class SandboxServer:
    """With `persist=True` the whole core is saved in `state_dir` and a restart resumes it (issue 16,
    item 14); without it (tests, `gmail-connector demo`) every start is a fresh sandbox, whatever the
    directory holds, and only the client-secret and authorized-user files are written there."""

    def __init__(self, mailboxes=(), state_dir: Path | str | None = None, quota_tier: str | None = None,
                 smtp_routes: dict[str, tuple[str, int]] | None = None, port: int = 0,
                 host: str = "127.0.0.1", persist: bool = False, pubsub: str | None = None,
                 pubsub_project: str = "gmail-connector-test") -> None:
        self.core = Sandbox(mailboxes, quota_tier=quota_tier or "2026", smtp_routes=smtp_routes)
        # Gmail push: users.watch checks its topic on, and notifications go to, this Pub/Sub emulator.
        self.core.push.emulator, self.core.push.project = pubsub, pubsub_project
        self.app = App(self.core)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.host, self.port = host, port
        self.url = ""
        self.state_files: list[Path] = []
        self._httpd: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._autosaver: Autosaver | None = None
        self.state: StateFile | None = None
        self.restored = False
        if persist:
            if self.state_dir is None:
                raise ValueError("persist=True needs a state_dir")
            self.state = StateFile(self.state_dir)
            # Loaded before anything is written: a damaged file raises StateError and stays as it was.
            self.restored = self.state.load_into(self.core, quota_tier)
            for address in mailboxes:
                self.core.add_mailbox(address)      # --mailbox may name one the saved state lacks

    def start(self) -> "SandboxServer":
        """Bind, write the state files, and serve in a background thread; returns once accepting."""
        app = self.app
        if self.state is not None:
            self._autosaver = Autosaver(self.state, self.core)
            app = _ChangeWatch(self.app, self._autosaver.changed)
        self._httpd = SandboxHTTPServer((self.host, self.port), app)
        self.port = self._httpd.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self.core.base_url = self.url
        self.core.oauth.token_uri = self.url + "/token"
        if self.state_dir is not None:
            self.state_files = self.write_state_files()
        if self._autosaver is not None:
            self._autosaver.start()
        self.core.push.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"gmail-sandbox:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.core.push.stop_publishing()
        if self._autosaver is not None:      # after the HTTP face is down: nothing changes behind the last save
            self._autosaver.stop()
            self._autosaver = None

    def save(self) -> None:
        """Save now; changes made on `core` directly (not over HTTP) are otherwise saved at stop()."""
        if self.state is None:
            raise ValueError("this sandbox was not started with persist=True")
        self.state.save(self.core)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- state files ---------------------------------------------------------------------
    def write_state_files(self) -> list[Path]:
        assert self.state_dir is not None
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        written = [self._write("client_secret.json", self.client_secret_info()),
                   self._write("service_account.json", self.service_account_info())]
        for address in sorted(self.core.boxes):
            written.append(self.write_authorized_user(address))
        return written

    def _write(self, name: str, payload: dict) -> Path:
        path = self.state_dir / name  # type: ignore[operator]
        # Refresh tokens and a private key live here: 0600 from creation, not chmod after the write
        # (the bytes would be readable in between); fchmod covers a file an older run left 0644.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, indent=2) + "\n")
        return path

    def client_secret_info(self) -> dict:
        oauth = self.core.oauth
        return {"installed": {"client_id": oauth.client_id, "client_secret": oauth.client_secret,
                              "project_id": "gmail-sandbox", "auth_uri": self.url + "/o/oauth2/auth",
                              "token_uri": self.url + "/token", "revoke_uri": self.url + "/revoke",
                              "auth_provider_x509_cert_url": self.url + "/oauth2/v1/certs",
                              "redirect_uris": ["http://localhost"]}}

    def authorized_user_info(self, address: str, scopes=DEFAULT_USER_SCOPES) -> dict:
        oauth = self.core.oauth
        with self.core.lock:
            refresh = oauth.issue_refresh_token(address, scopes)
        return {"type": "authorized_user", "client_id": oauth.client_id, "client_secret": oauth.client_secret,
                "refresh_token": refresh, "token_uri": self.url + "/token", "scopes": list(scopes),
                "account": address.lower(), "universe_domain": "googleapis.com"}

    def write_authorized_user(self, address: str, scopes=DEFAULT_USER_SCOPES, name: str | None = None) -> Path:
        return self._write(name or f"{address.lower()}.json", self.authorized_user_info(address, scopes))

    def service_account_info(self) -> dict:
        oauth = self.core.oauth
        pem = oauth.service_account_key.private_bytes(serialization.Encoding.PEM,
                                                      serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": "gmail-sandbox", "private_key_id": "sandbox-key-1",
                "private_key": pem, "client_email": oauth.service_account_email, "client_id": "100000000000000000001",
                "auth_uri": self.url + "/o/oauth2/auth", "token_uri": self.url + "/token",
                "auth_provider_x509_cert_url": self.url + "/oauth2/v1/certs", "universe_domain": "googleapis.com"}


class _ChangeWatch:
    """The App as the HTTP face sees it, telling the autosaver after each request that may change state."""

    def __init__(self, app: App, changed) -> None:
        self.app, self._changed = app, changed

    def handle(self, request):
        response = self.app.handle(request)
        # Reads (the bulk: history.list, messages.get polls) never trigger a save; anything else may.
        if request.method not in ("GET", "HEAD") or request.path in _CHANGING_GETS:
            self._changed()
        return response


class Autosaver:
    """Saves the core at most every `debounce` seconds after a change, and once more on stop(): a
    1,000-message snapshot is too dear for every request, and a burst of changes costs one write."""

    def __init__(self, state: StateFile, core: Sandbox, debounce: float = 0.5) -> None:
        self.state, self.core, self.debounce = state, core, debounce
        self._dirty, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="gmail-sandbox-autosave", daemon=True)
        self._last_error = ""

    def start(self) -> "Autosaver":
        self._thread.start()
        return self

    def changed(self) -> None:
        self._dirty.set()

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping.wait(self.debounce):
                return                                # stop() makes the last save itself
            self._save()

    def _save(self) -> bool:
        self._dirty.clear()
        try:
            self.state.save(self.core)
        except Exception as exc:  # noqa: BLE001 - a failed save must not end the saving thread
            # The sandbox keeps serving; the previous snapshot stays on disk and the next change retries.
            if str(exc) != self._last_error:
                log.error("cannot save the sandbox state to %s: %s", self.state.path, exc)
            self._last_error = str(exc)
            return False
        self._last_error = ""
        return True

    def stop(self) -> bool:
        self._stopping.set()
        self._dirty.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        return self._save()
