"""`helpdesk status|failed|retry|check`, `run` refusing a destination it cannot use, and the status views."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from connector.admin.metrics import helpdesk_metrics
from connector.admin.render_sections import helpdesk_summary
from connector.admin.status import build_status
from connector.cli import main
from connector.settings import Settings
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.helpdesk_models import HelpdeskEvent
from connector.store.models import Ticket

NOW = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def env(tmp_path, monkeypatch):
    values = {"DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING", "HELPDESK": "webhook",
              "WEBHOOK_URL": "http://127.0.0.1:9/hook", "WEBHOOK_SECRET": "s3cret-value-never-printed"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings.from_mapping(values)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        session.add(Ticket(id=7, subject="Refund", requester_email="ann@x.example"))
        session.flush()
        session.add(HelpdeskEvent(ticket_id=7, kind="ticket.created", state="failed", attempts=1,
                                  last_error="webhook refused: 401 signature refused", created_at=NOW))
        session.add(HelpdeskEvent(ticket_id=7, kind="comment.added", state="queued", created_at=NOW))
    engine.dispose()
    return settings


def cli(capsys, *args) -> tuple[int, str]:
    status = main(["--env-file", "/dev/null", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_status_failed_and_retry(env, capsys):
    status, out = cli(capsys, "helpdesk", "status", "--json")
    picture = json.loads(out)
    assert status == 0 and (picture["queued"], picture["failed"], picture["destination"]) == (1, 1, "webhook")
    assert "WEBHOOK_SECRET" in picture["fix"] and "s3cret" not in out
    status, out = cli(capsys, "helpdesk", "failed")
    assert status == 0 and "ticket 7" in out and "401 signature refused" in out
    status, out = cli(capsys, "helpdesk", "retry", "1")
    assert status == 0 and "event 1 (ticket.created of ticket 7) queued again" in out
    status, out = cli(capsys, "helpdesk", "retry", "99")
    assert status == 1 and out.strip() == ("gmail-connector: no undelivered helpdesk event 99 "
                                           "(see `gmail-connector helpdesk failed`)")
    status, out = cli(capsys, "helpdesk", "status")
    assert "2 queued, 0 being delivered, 0 failed" in out


@pytest.mark.parametrize("missing, says", [("WEBHOOK_URL", "HELPDESK=webhook needs WEBHOOK_URL"),
                                           ("WEBHOOK_SECRET", "HELPDESK=webhook needs WEBHOOK_SECRET")])
def test_run_and_check_refuse_a_destination_missing_a_setting(env, capsys, monkeypatch, missing, says):
    monkeypatch.delenv(missing)
    for command in (["run"], ["helpdesk", "check"]):
        status, out = cli(capsys, *command)
        assert status == 2 and says in out and len(out.strip().splitlines()) == 1, out


def test_status_metrics_and_dashboard_show_the_destination(env):
    engine = make_engine(env.database_url)
    with session_scope(engine) as session:
        status = build_status(session, NOW, settings=env)
    engine.dispose()
    helpdesk = status["helpdesk"]
    assert (helpdesk["queued"], helpdesk["failed"], helpdesk["oldest_waiting_age_seconds"]) == (1, 1, 0)
    metrics = {m.name: [(s.labels, s.value) for s in m.samples] for m in helpdesk_metrics(helpdesk)}
    assert ({"destination": "webhook", "state": "failed"}, 1) in metrics["gmail_connector_helpdesk_events"]
    html = helpdesk_summary(helpdesk)
    assert "1 refused" in html and "401 signature refused" in html
    assert "own store" in helpdesk_summary({"destination": "builtin"})


def test_get_status_carries_the_helpdesk_section(env):
    import requests

    from connector.admin.app import create_app
    from connector.admin.server import AdminServer
    from connector.bootstrap import bootstrap

    runtime = bootstrap(env)
    server = AdminServer(create_app(runtime), "127.0.0.1", 0)
    server.start()
    try:
        body = requests.get(f"http://127.0.0.1:{server.port}/status", timeout=5).json()
    finally:
        server.stop()
        runtime.engine.dispose()
    assert body["helpdesk"]["destination"] == "webhook" and body["helpdesk"]["failed"] == 1
