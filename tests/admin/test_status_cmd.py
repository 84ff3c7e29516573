"""`gmail-connector status [--json]` reads the picture straight from the database."""
from __future__ import annotations

import json

import pytest

import connector.cli
from connector.cli import main


@pytest.fixture(autouse=True)
def status_command(monkeypatch, tmp_path):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    # status_cmd is wired in connector/cli/__init__.py by that file's owner; until then, add it here.
    if "connector.cli.status_cmd" not in connector.cli.COMMAND_MODULES:
        monkeypatch.setattr(connector.cli, "COMMAND_MODULES",
                            connector.cli.COMMAND_MODULES + ("connector.cli.status_cmd",))


@pytest.fixture
def cli_database(monkeypatch, populated):
    """The populated store, reachable through DATABASE_URL as the CLI reads it."""
    monkeypatch.setenv("DATABASE_URL", populated.url.render_as_string(hide_password=False))
    populated.dispose()
    return populated


def test_status_json_is_the_status_picture(cli_database, capsys):
    assert main(["--env-file", "/dev/null", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [row["address"] for row in status["inboxes"]] == ["help@example.com", "ops@example.com",
                                                            "sales@example.com"]
    assert status["totals"]["tickets"] == 2 and status["suspended_by_kind"] == {"auto_reply": 1, "bounce": 1}
    assert status["scheduler"] == "not_attached"


def test_status_in_words_names_the_fix(cli_database, capsys):
    assert main(["--env-file", "/dev/null", "status"]) == 0
    out = capsys.readouterr().out
    assert "3 inboxes" in out and "2 held back" in out
    assert "run `gmail-connector auth add sales@example.com --client-secrets client_secret.json`" in out
    assert "error: rate_limited: quota exceeded" in out
    assert "held back: auto_reply 1, bounce 1" in out


def test_status_on_a_fresh_database_says_how_to_start(monkeypatch, database_url, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["--env-file", "/dev/null", "status"]) == 0
    assert "no inboxes connected" in capsys.readouterr().out


def test_status_json_lists_every_inbox_where_the_api_gives_a_page(monkeypatch, engine, capsys):
    from sqlalchemy import insert

    from connector.store.db import session_scope
    from connector.store.models import Inbox

    with session_scope(engine) as session:
        session.execute(insert(Inbox), [{"address": f"bulk{n:02d}@example.com"} for n in range(60)])
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    engine.dispose()
    assert main(["--env-file", "/dev/null", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [row["address"] for row in status["inboxes"]] == [f"bulk{n:02d}@example.com" for n in range(60)]
    assert status["inboxes_page"] == {"limit": None, "next_cursor": None, "next": None}
