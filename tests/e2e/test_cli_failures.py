"""Newcomers' mistakes get one line that says what is wrong and what to do, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli import main

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [["inboxes", "list"], ["tickets", "list"], ["suspended", "list"], ["status"], ["sync", "--once"],
            ["db", "current"], ["db", "upgrade"], ["helpdesk", "status"], ["forwarding", "status"]]
URLS = {
    "garbage": (2, "not a database URL"),
    "mysql://user:secret@db.example/app": (2, "'mysql' database is not supported"),
    "postgresql://user:secret@127.0.0.1:1/app": (1, "is the database server running and reachable?"),
    "sqlite:////nonexistent-gmail-connector/dir/x.db": (2, "the directory /nonexistent-gmail-connector does not "
                                                          "exist — create it"),
}


@pytest.mark.parametrize("url", sorted(URLS))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_bad_database_url_is_one_line_with_the_reason_and_the_fix(url, command, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", url)
    status, said = URLS[url]
    assert main(["--env-file", "/dev/null", *command]) == status
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and said in err and "(DATABASE_URL)" in err, err
    assert "secret" not in err and "Traceback" not in err


def test_unexpected_failures_are_one_line_unless_debug_is_asked(tmp_path, monkeypatch, capsys):
    import connector.cli.tickets_cmd as tickets_cmd
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(tickets_cmd, "ticket_rows", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    assert main(["--env-file", "/dev/null", "tickets", "list"]) == 1
    assert capsys.readouterr().err.strip() == ("gmail-connector: unexpected RuntimeError: boom "
                                               "(run again with --debug for the traceback)")
    with pytest.raises(RuntimeError):
        main(["--env-file", "/dev/null", "--debug", "tickets", "list"])


def test_json_piped_into_head_ends_quietly(tmp_path):
    from connector import demo_mail
    for n in range(300):
        (tmp_path / f"m{n}.eml").write_bytes(demo_mail.customer_mail("support@example.com", n))
    env = {"DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    script = (f"{sys.executable} -m connector.cli --env-file /dev/null parse --json {tmp_path}/*.eml "
              f"2>{tmp_path}/err | head -c 10 >/dev/null")
    subprocess.run(["sh", "-c", script], env=env, timeout=120, check=False)
    assert "Traceback" not in (tmp_path / "err").read_text()


def test_an_env_file_that_does_not_exist_is_an_error_not_silently_ignored(capsys):
    assert main(["--env-file", "/nonexistent.env", "inboxes", "list"]) == 2
    assert capsys.readouterr().err.strip() == ("gmail-connector: --env-file /nonexistent.env: no such file "
                                               "(without --env-file, .env is read when there is one)")


def test_lists_have_headers_and_plurals_and_every_empty_listing_suggests_the_same_first_step(tmp_path, monkeypatch,
                                                                                         capsys):
    from connector.cli import NO_INBOXES
    from connector.cli.tickets_cmd import TICKET_HEADER, plural
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    hints = []
    for command in (["inboxes", "list"], ["status"], ["auth", "status"]):
        assert main(["--env-file", "/dev/null", *command]) == 0
        hints.append(NO_INBOXES in capsys.readouterr().out)
    assert hints == [True, True, True]
    assert (plural(1, "comment"), plural(2, "comment"), plural(0, "comment")) == ("1 comment", "2 comments",
                                                                                   "0 comments")
    assert TICKET_HEADER.split()[:4] == ["TICKET", "STATUS", "GROUP", "REQUESTER"]


@pytest.mark.parametrize("command", COMMANDS[:5], ids=" ".join)
def test_a_data_directory_that_cannot_be_made_is_one_line_naming_it(command, monkeypatch, capsys):
    # /dev/null/data: not a directory, even for root (a read-only one would not stop root in CI).
    monkeypatch.setenv("DATA_DIR", "/dev/null/data")
    assert main(["--env-file", "/dev/null", *command]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("gmail-connector: cannot use /dev/null/data: Not a directory — check that the directory exists "
                   "and is writable (DATA_DIR)"), err
