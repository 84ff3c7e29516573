"""`gmail-connector sandbox` as a user runs it: state files written, URL printed, stops on SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from connector.cli import main


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    out = capsys.readouterr().out
    for option in ("--mailbox", "--state", "--quota-tier", "--smtp-route", "--seed-demo"):
        assert option in out


def test_bad_smtp_route_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["sandbox", "--mailbox", "a@b.c", "--state", str(tmp_path), "--smtp-route", "nonsense"])
    assert caught.value.code == 2
    assert "DOMAIN=HOST:PORT" in capsys.readouterr().err


def test_runs_seeds_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from connector.cli import main; sys.exit(main(sys.argv[1:]))", "--env-file", "/dev/null", "sandbox", "--port", "0",
         "--mailbox", "support@masociete.com", "--state", str(tmp_path / "state"), "--seed-demo",
         "--smtp-route", "helpdesk.example.com=127.0.0.1:2525"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        first = process.stdout.readline()
        assert first.startswith("Gmail sandbox listening on http://127.0.0.1:")
        url = first.split()[-1]
        with urllib.request.urlopen(url + "/_sandbox/stats", timeout=5) as answer:
            stats = json.loads(answer.read())
        assert stats["mailboxes"]["support@masociete.com"]["messages"] == 5
        names = {p.name for p in Path(tmp_path / "state").iterdir()}
        assert names == {"client_secret.json", "service_account.json", "support@masociete.com.json"}
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Gmail sandbox stopped." in out
