"""Refresh tokens, access tokens and private keys never reach the database in clear, the logs or the terminal."""
from __future__ import annotations

import json
import logging
import webbrowser
from pathlib import Path

import pytest

from connector.bootstrap import bootstrap
from connector.cli import main
from connector.settings import Settings
from consent_driver import Browser
from jobs.sync_inbox import sync_inbox
from sandbox.server import SandboxServer

SUPPORT = "support@masociete.com"
FACTURATION = "facturation@masociete.com"
CUSTOMER = "customer@gmail.com"


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(mailboxes=[SUPPORT, FACTURATION, CUSTOMER], state_dir=tmp_path / "sandbox") as srv:
        yield srv


def secrets_of(sandbox) -> dict[str, str]:
    """Every secret the sandbox handed out, plus each line of the service account's private key."""
    oauth = sandbox.core.oauth
    found = {f"refresh token {i}": t for i, t in enumerate(oauth.refresh)}
    found |= {f"access token {i}": t for i, t in enumerate(oauth.access)}
    key = json.loads((Path(sandbox.state_dir) / "service_account.json").read_text())["private_key"]
    found |= {f"private key line {i}": line for i, line in enumerate(key.splitlines()) if len(line) > 40}
    return found


def test_no_secret_in_the_store_files_logs_or_output(tmp_path, sandbox, monkeypatch, capsys, caplog):
    data = tmp_path / "data"
    for key in ("DATABASE_URL", "TOKEN_ENCRYPTION_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("GMAIL_API_ENDPOINT", sandbox.url)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    person = Browser(SUPPORT)
    monkeypatch.setattr(webbrowser, "open", person.open)

    def cli(*args: str) -> int:
        return main(["--env-file", "/dev/null", *args])

    assert cli("auth", "add", SUPPORT, "--client-secrets", str(sandbox.state_dir / "client_secret.json")) == 0
    person.join()
    assert cli("auth", "add-service-account", str(sandbox.state_dir / "service_account.json"),
               "--domain", "masociete.com") == 0
    assert cli("inboxes", "add", FACTURATION, "--service-account") == 0
    runtime = bootstrap(Settings(data_dir=data, gmail_api_endpoint=sandbox.url))
    for address in (SUPPORT, FACTURATION):
        sync_inbox(runtime, address)
    assert cli("auth", "status") == 0 and cli("auth", "status", "--json") == 0
    assert cli("inboxes", "list", "--json") == 0
    # The consent's refresh token: read it before revoking makes the sandbox forget it.
    secrets = secrets_of(sandbox)
    assert any(g.address == SUPPORT for g in sandbox.core.oauth.refresh.values())
    assert cli("auth", "revoke", SUPPORT) == 0

    captured = capsys.readouterr()
    texts = {"stdout": captured.out, "stderr": captured.err, "logs": caplog.text}
    files = sorted(p for p in data.rglob("*") if p.is_file())
    assert any(p.name.startswith("connector.db") for p in files) and any(p.name.endswith(".key") for p in files)
    for path in files:                     # the database, its WAL, and the key file's other neighbours
        texts[str(path.relative_to(data))] = path.read_bytes().decode("latin-1")
    assert len(caplog.records) > 10        # DEBUG logging really was on
    leaks = [(what, where) for what, secret in secrets.items() for where, text in texts.items() if secret in text]
    assert leaks == [], [(w, [r.name for r in caplog.records if secrets[w] in r.getMessage()]) for w, _ in leaks]
