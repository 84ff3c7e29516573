"""The user's story through the command line: connect, sync, read tickets; run the daemon and stop it."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from connector import demo_mail
from connector.cli import main
from sandbox.server import SandboxServer

SUPPORT = "support@masociete.com"
CLI = [sys.executable, "-c", "import sys; from connector.cli import main; sys.exit(main(sys.argv[1:]))"]


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(mailboxes=[SUPPORT], state_dir=tmp_path / "sandbox", quota_tier="2026", port=0) as srv:
        yield srv


@pytest.fixture
def sqlite_env(tmp_path, sandbox, monkeypatch):
    """The environment of an operator who left DATABASE_URL unset: the SQLite file in DATA_DIR."""
    values = {"DATA_DIR": str(tmp_path / "data"), "GMAIL_API_ENDPOINT": sandbox.url, "LOG_LEVEL": "WARNING",
              "ADMIN_BIND": "127.0.0.1:0", "POLL_INTERVAL_SECONDS": "1",
              "SMTP_INBOUND_BIND": "127.0.0.1:0"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return values


@pytest.fixture
def env(sqlite_env, database_url, monkeypatch):
    """The same, on the database the suite runs against (TEST_DATABASE_BACKEND)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return {**sqlite_env, "DATABASE_URL": database_url}


def run_cli(capsys, *args) -> str:
    status = main(["--env-file", "/dev/null", *args])
    out = capsys.readouterr().out
    assert status == 0, out
    return out


def test_connect_sync_and_read_tickets(env, sandbox, capsys):
    first = demo_mail.customer_mail(SUPPORT, 1)
    for raw in (first, demo_mail.reply_to(first, 2), demo_mail.auto_reply(SUPPORT, 3)):
        sandbox.core.deliver(SUPPORT, raw)
    credentials = Path(sandbox.state_dir) / f"{SUPPORT}.json"

    assert "connected support@masociete.com" in run_cli(capsys, "inboxes", "add", SUPPORT,
                                                        "--credentials", str(credentials), "--group", "Support")
    assert "3 imported (1 ticket, 1 comment, 1 suspended" in run_cli(capsys, "sync", "--once")

    tickets = json.loads(run_cli(capsys, "tickets", "list", "--json"))
    assert len(tickets) == 1
    ticket = tickets[0]
    assert set(ticket) >= {"id", "subject", "status", "requester", "group", "inbox", "received_at_address",
                           "comment_count", "flags", "created_at", "updated_at"}
    assert ticket["comment_count"] == 2 and ticket["inbox"] == SUPPORT
    detail = json.loads(run_cli(capsys, "tickets", "show", str(ticket["id"]), "--json"))
    assert [set(c) >= {"id", "author", "public", "message_id", "body_text", "attachments", "created_at"}
            for c in detail["comments"]] == [True, True]
    held = json.loads(run_cli(capsys, "suspended", "list", "--json"))
    assert [(h["reason"].split(" ")[0], set(h) >= {"id", "reason", "from", "subject", "received_at"})
            for h in held] == [("auto-reply", True)]
    listing = json.loads(run_cli(capsys, "inboxes", "list", "--json"))
    assert listing[0]["imported_total"] == 3 and listing[0]["state"] == "active"


def test_sync_once_shows_a_progress_display_on_a_terminal_and_only_the_summary_in_a_pipe(env, sandbox, capsys):
    import pty
    for n in range(1, 4):
        sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, n))
    run_cli(capsys, "inboxes", "add", SUPPORT, "--credentials", str(Path(sandbox.state_dir) / f"{SUPPORT}.json"))
    leader, follower = pty.openpty()
    done = subprocess.run([*CLI, "--env-file", "/dev/null", "sync", "--once"], env=os.environ.copy(),
                          stdout=subprocess.PIPE, stderr=follower, timeout=60)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0 and b"3 imported" in done.stdout
    assert b"3/3" in shown and SUPPORT.encode() in shown          # rich's bar, on the terminal
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 9))
    out = run_cli(capsys, "sync", "--once")
    assert "1 imported" in out and "3/3" not in capsys.readouterr().err      # not a terminal: quiet


# Reads the SQLite file itself to prove the token is not in it, so it stays on SQLite.
def test_the_credentials_file_is_not_stored_in_clear(sqlite_env, sandbox, capsys, tmp_path):
    credentials = json.loads((Path(sandbox.state_dir) / f"{SUPPORT}.json").read_text())
    run_cli(capsys, "inboxes", "add", SUPPORT, "--credentials", str(Path(sandbox.state_dir) / f"{SUPPORT}.json"))
    database = (tmp_path / "data" / "connector.db").read_bytes()
    assert credentials["refresh_token"].encode() not in database
    key_file = tmp_path / "data" / "token-encryption.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_the_daemon_syncs_serves_its_admin_page_and_stops_on_sigterm(env, sandbox, capsys):
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    run_cli(capsys, "inboxes", "add", SUPPORT, "--credentials", str(Path(sandbox.state_dir) / f"{SUPPORT}.json"))
    daemon = subprocess.Popen([*CLI, "--env-file", "/dev/null", "run"], env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _admin_url(daemon)
        assert json.loads(urllib.request.urlopen(f"{url}healthz", timeout=5).read())["status"] == "ok"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = json.loads(urllib.request.urlopen(f"{url}status", timeout=5).read())
            if status["inboxes"][0]["imported_total"] == 1:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the daemon did not import the message: {status}")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.communicate()


def _admin_url(process: subprocess.Popen) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.search(r"admin page: (http://\S+/)", line or "")
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
    raise AssertionError(f"the daemon printed no admin URL: {process.stderr.read()}")


def test_a_hostile_mail_is_held_back_without_blocking_the_inbox_and_recovered_from_the_cli(env, sandbox, capsys):
    from tests.mail.hostile import encoded_word_from, nested_multipart

    deep = nested_multipart(1500).replace(b"<hostile@", b"<deep@")   # two messages, two Message-IDs
    for raw in (deep, encoded_word_from(4000), demo_mail.customer_mail(SUPPORT, 1)):
        sandbox.core.deliver(SUPPORT, raw)
    credentials = Path(sandbox.state_dir) / f"{SUPPORT}.json"
    run_cli(capsys, "inboxes", "add", SUPPORT, "--credentials", str(credentials))

    assert "3 imported (1 ticket, 0 comments, 2 suspended" in run_cli(capsys, "sync", "--once")

    held = json.loads(run_cli(capsys, "suspended", "list", "--json"))
    assert sorted(h["kind"] for h in held) == ["too_complex", "too_complex"]
    assert any("nested over 100 deep" in h["reason"] for h in held)
    assert any("header From over 64 KB" in h["reason"] for h in held)
    for h in held:
        assert "created" in run_cli(capsys, "suspended", "recover", str(h["id"]))
    tickets = json.loads(run_cli(capsys, "tickets", "list", "--json"))
    assert len(tickets) == 3
    recovered = json.loads(run_cli(capsys, "tickets", "show", str(tickets[0]["id"]), "--json"))
    assert [a["filename"] for a in recovered["comments"][0]["attachments"]] == ["original.eml"]
