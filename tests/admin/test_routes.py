"""Every admin route over HTTP against a real server and a real SQLite store."""
from __future__ import annotations

import pytest
from sqlmodel import select

from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.db import make_engine, session_scope
from connector.store.models import Inbox, SuspendedMail

from .conftest import EVIL_SUBJECT, FakeDaemon


def suspended_ids(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {row.kind: row.id for row in session.exec(select(SuspendedMail))}


def inbox_state(engine, address: str) -> str:
    with session_scope(engine) as session:
        return session.exec(select(Inbox.state).where(Inbox.address == address)).one()


def test_healthz_reports_database_and_scheduler(runtime, serve):
    health = serve(runtime, FakeDaemon()).get("/healthz").json()
    assert health.pop("disk_free_bytes") > 0
    assert health == {"status": "ok", "database": "ok", "database_write": "ok", "disk": "ok", "scheduler": "running"}


def test_healthz_is_503_when_the_scheduler_stopped(runtime, serve):
    response = serve(runtime, FakeDaemon(running=False)).get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and response.json()["scheduler"] == "stopped"
    assert response.json()["database"] == response.json()["database_write"] == "ok"


def test_healthz_is_503_when_the_database_is_unreachable(runtime, serve, tmp_path):
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "not-a-file").mkdir()
    broken = make_engine(f"sqlite:///{tmp_path / 'not-a-file'}")
    try:
        response = serve(Runtime(settings=runtime.settings, engine=broken)).get("/healthz")
    finally:
        broken.dispose()
    assert response.status_code == 503
    health = response.json()
    assert (health["status"], health["database"], health["database_write"], health["scheduler"]) == \
        ("unavailable", "error: OperationalError: unable to open database file", "not_checked", "not_attached")


def test_status_shows_the_revoked_inbox_with_its_command(runtime, serve):
    status = serve(runtime, FakeDaemon()).get("/status").json()
    sales = next(row for row in status["inboxes"] if row["address"] == "sales@example.com")
    assert sales["credential"]["command"] == \
        "gmail-connector auth add sales@example.com --client-secrets client_secret.json"
    assert status["uptime_seconds"] > 0 and status["scheduler"] == "running"
    assert status["totals"]["tickets"] == 2


def test_sync_now_asks_the_daemon(runtime, serve):
    daemon = FakeDaemon()
    response = serve(runtime, daemon).post("/inboxes/Help@Example.com/sync")
    assert response.status_code == 200
    assert response.json() == {"address": "help@example.com", "state": "active", "sync": "scheduled"}
    assert daemon.synced == ["help@example.com"]


def test_sync_now_without_a_daemon_is_a_conflict(runtime, serve):
    response = serve(runtime).post("/inboxes/help@example.com/sync")
    assert response.status_code == 409 and "gmail-connector run" in response.json()["detail"]


@pytest.mark.parametrize("action", ["sync", "pause", "resume"])
def test_actions_on_an_unknown_inbox_are_404(runtime, serve, action):
    assert serve(runtime, FakeDaemon()).post(f"/inboxes/nobody@example.com/{action}").status_code == 404


def test_pause_and_resume(runtime, serve):
    client = serve(runtime)
    assert client.post("/inboxes/help@example.com/pause").json()["state"] == "paused"
    assert inbox_state(runtime.engine, "help@example.com") == "paused"
    assert client.post("/inboxes/help@example.com/resume").json()["state"] == "active"
    assert inbox_state(runtime.engine, "help@example.com") == "active"


def test_a_dashboard_form_redirects_back_to_the_page(runtime, serve):
    response = serve(runtime).post("/inboxes/help@example.com/pause", headers={"Accept": "text/html"})
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    assert inbox_state(runtime.engine, "help@example.com") == "paused"


def test_suspended_lists_held_back_mail(runtime, serve):
    rows = serve(runtime).get("/suspended").json()
    assert [(row["kind"], row["from"]) for row in rows] == [("auto_reply", "ann@example.com"),
                                                           ("bounce", "ann@example.com")]
    assert rows[0]["subject"] == EVIL_SUBJECT and rows[0]["reason"].startswith("auto-reply")


def test_recover_turns_held_back_mail_into_a_ticket(runtime, serve):
    client = serve(runtime)
    held = suspended_ids(runtime.engine)["auto_reply"]
    before = len(client.get("/tickets").json())
    body = client.post(f"/suspended/{held}/recover").json()
    assert (body["id"], body["state"]) == (held, "recovered")
    assert body["outcome"].startswith("ticket") and len(client.get("/tickets").json()) == before + 1
    assert [row["id"] for row in client.get("/suspended?state=recovered").json()] == [held]
    assert client.post(f"/suspended/{held}/recover").status_code == 404  # already recovered


def test_delete_hides_held_back_mail(runtime, serve):
    client = serve(runtime)
    held = suspended_ids(runtime.engine)["bounce"]
    assert client.post(f"/suspended/{held}/delete").json() == {"id": held, "state": "deleted"}
    assert [row["kind"] for row in client.get("/suspended").json()] == ["auto_reply"]
    assert client.post(f"/suspended/{held}/delete").status_code == 404
    assert client.post("/suspended/999/delete").status_code == 404


def test_an_unknown_suspended_state_is_refused(runtime, serve):
    assert serve(runtime).get("/suspended?state=everything").status_code == 422


def test_tickets_list_and_detail(runtime, serve):
    client = serve(runtime)
    rows = client.get("/tickets").json()
    assert [row["subject"] for row in rows] == ["Invoice", EVIL_SUBJECT]
    detail = client.get(f"/tickets/{rows[1]['id']}").json()
    assert detail["requester"] == {"name": "Ann Customer", "email": "ann@example.com"}
    assert [c["message_id"] for c in detail["comments"]] == ["m1@example.com"]
    assert client.get("/tickets/999").status_code == 404


def test_metrics_read_the_store_at_scrape_time(runtime, serve):
    client = serve(runtime)
    before = client.get("/metrics")
    assert before.headers["Content-Type"].startswith("text/plain")
    text = before.text
    assert 'gmail_connector_imported_messages_total{inbox="help@example.com"} 7.0' in text
    assert 'gmail_connector_tickets{status="new"} 2.0' in text
    assert 'gmail_connector_suspended_mails{kind="bounce"} 1.0' in text
    assert 'gmail_connector_inbox_state{inbox="sales@example.com",state="needs_reauth"} 1.0' in text
    assert 'gmail_connector_inbox_state{inbox="sales@example.com",state="active"} 0.0' in text
    assert 'gmail_connector_sync_lag_seconds{inbox="help@example.com"}' in text
    assert 'gmail_connector_sync_lag_seconds{inbox="sales@example.com"}' not in text  # never succeeded
    client.post("/inboxes/help@example.com/pause")
    assert 'gmail_connector_inbox_state{inbox="help@example.com",state="paused"} 1.0' in client.get("/metrics").text


def test_two_apps_in_one_process_keep_their_own_metrics(runtime, serve, tmp_path):
    first, second = serve(runtime), serve(Runtime(settings=Settings(data_dir=tmp_path), engine=runtime.engine))
    assert first.get("/metrics").status_code == second.get("/metrics").status_code == 200
