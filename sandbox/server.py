"""`SandboxServer`: the sandbox core behind its HTTP face in a background thread, plus its state files."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from sandbox.app import App
from sandbox.core import Sandbox
from sandbox.http import SandboxHTTPServer
from sandbox.oauth import FULL_SCOPE, GMAIL

# mail.google.com covers every method except the settings ones, whose discovery scope lists omit it.
DEFAULT_USER_SCOPES = (FULL_SCOPE, GMAIL + "settings.basic", GMAIL + "settings.sharing")


class SandboxServer:
    def __init__(self, mailboxes=(), state_dir: Path | str | None = None, quota_tier: str = "2026",
                 smtp_routes: dict[str, tuple[str, int]] | None = None, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        self.core = Sandbox(mailboxes, quota_tier=quota_tier, smtp_routes=smtp_routes)
        self.app = App(self.core)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.host, self.port = host, port
        self.url = ""
        self.state_files: list[Path] = []
        self._httpd: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "SandboxServer":
        """Bind, write the state files, and serve in a background thread; returns once accepting."""
        self._httpd = SandboxHTTPServer((self.host, self.port), self.app)
        self.port = self._httpd.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self.core.base_url = self.url
        self.core.oauth.token_uri = self.url + "/token"
        if self.state_dir is not None:
            self.state_files = self.write_state_files()
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
