"""The status picture: what each inbox is doing, what is held back, and that it stays cheap at scale."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, insert
from sqlmodel import Session, select

from connector import __version__
from connector.admin.status import build_status
from connector.store.db import session_scope
from connector.store.inboxes import add_inbox
from connector.store.models import Inbox, RawMail

from .conftest import NOW, FakeDaemon


def status_of(engine, daemon=None) -> dict:
    with session_scope(engine) as session:
        return build_status(session, NOW, daemon)


def by_address(status: dict) -> dict[str, dict]:
    return {row["address"]: row for row in status["inboxes"]}


def test_a_healthy_inbox_shows_its_cursor_counts_and_last_sync_age(populated):
    help_ = by_address(status_of(populated))["help@example.com"]
    assert help_["credential"] == {"state": "ok", "command": None, "message": None}
    assert (help_["history_id"], help_["imported_total"], help_["imported_last_24h"]) == ("4242", 7, 3)
    assert help_["last_success_at"] == "2024-05-01T11:58:00Z"
    assert help_["last_success_age_seconds"] == 120
    assert (help_["mode"], help_["group"], help_["state"], help_["consecutive_failures"]) == \
        ("direct", "Support", "active", 0)


def test_a_revoked_inbox_says_which_command_fixes_it(populated):
    sales = by_address(status_of(populated))["sales@example.com"]
    assert sales["state"] == "needs_reauth"
    assert sales["credential"]["state"] == "needs_reauth"
    assert sales["credential"]["command"] == \
        "gmail-connector auth add sales@example.com --client-secrets client_secret.json"
    assert sales["last_error"] == "auth_revoked: the grant was revoked"
    assert sales["last_error_at"] == "2024-05-01T11:55:00Z"


def test_a_failing_inbox_shows_its_error_and_backoff(populated):
    ops = by_address(status_of(populated))["ops@example.com"]
    assert ops["credential"] == {"state": "error", "command": None, "message": "rate_limited: quota exceeded"}
    assert (ops["backoff_until"], ops["consecutive_failures"]) == ("2024-05-01T12:04:00Z", 1)
    assert ops["next_run_at"] == "2024-05-01T12:04:00Z"
    assert ops["mode"] == "forwarding"


def test_an_inbox_without_stored_credentials_needs_consent(engine):
    with session_scope(engine) as session:
        add_inbox(session, "new@example.com")
    row = by_address(status_of(engine))["new@example.com"]
    assert row["credential"]["state"] == "needs_reauth"
    assert row["credential"]["message"] == "no stored credentials"


def test_held_back_mail_tickets_and_totals(populated):
    status = status_of(populated)
    assert status["suspended_by_kind"] == {"auto_reply": 1, "bounce": 1}
    assert status["tickets_by_status"] == {"new": 2}
    assert status["totals"] == {
        "inboxes": 3, "inboxes_by_state": {"active": 2, "needs_reauth": 1}, "needs_reauth": 1, "needs_attention": 2,
        "imported_total": 7, "imported_last_24h": 3, "suspended": 2, "tickets": 2}
    assert (status["version"], status["uptime_seconds"], status["scheduler"]) == (__version__, None, "not_attached")


def test_a_daemon_supplies_uptime_scheduler_state_and_next_runs(populated):
    status = status_of(populated, FakeDaemon(running=False))
    assert (status["uptime_seconds"], status["scheduler"]) == (7200, "stopped")
    assert {row["next_run_at"] for row in status["inboxes"]} == {"2024-05-01T12:00:30Z"}


def add_inboxes(engine, first: int, count: int) -> None:
    # Bulk inserts keep the setup fast; what is measured is only build_status.
    inboxes = [{"address": f"inbox{n:04d}@example.com", "state": "needs_reauth" if n % 10 == 0 else "active",
                "created_at": NOW, "updated_at": NOW} for n in range(first, first + count)]
    with session_scope(engine) as session:
        session.execute(insert(Inbox), inboxes)
        ids = session.exec(select(Inbox.id).where(Inbox.address.in_([row["address"] for row in inboxes]))).all()
        session.execute(insert(RawMail), [{"source": "gmail", "inbox_id": i, "sha256": "0", "size": 0, "raw": b"",
                                           "received_at": NOW, "state": "processed"} for i in ids])


def statements_of_status(engine) -> tuple[dict, list[str]]:
    statements: list[str] = []
    listener = lambda conn, cursor, sql, params, context, many: statements.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with Session(engine) as session:
            status = build_status(session, NOW + timedelta(minutes=1))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return status, statements


def test_a_thousand_inboxes_cost_the_same_statements_as_ten(engine):
    add_inboxes(engine, 0, 10)
    _, few = statements_of_status(engine)
    add_inboxes(engine, 10, 990)
    status, many = statements_of_status(engine)
    assert len(many) == len(few) <= 25, many   # one per question, never one per inbox
    assert len(status["inboxes"]) == 50 and status["inboxes_page"]["next_cursor"]   # one page, not 1,000 rows
    assert status["totals"]["inboxes"] == 1000
    assert status["totals"]["imported_last_24h"] == 1000
    assert status["totals"]["needs_reauth"] == 1000  # none of them has stored credentials
    assert status["totals"]["inboxes_by_state"] == {"active": 900, "needs_reauth": 100}
    assert status["needs_attention"]["count"] == 1000 and len(status["needs_attention"]["inboxes"]) == 20
    assert {row["imported_last_24h"] for row in status["inboxes"]} == {1}


def test_with_few_inboxes_the_page_is_every_inbox_as_before(populated):
    status = status_of(populated)
    assert [row["address"] for row in status["inboxes"]] == ["help@example.com", "ops@example.com",
                                                            "sales@example.com"]
    assert status["inboxes_page"] == {"limit": 50, "next_cursor": None, "next": None}
    assert [row["address"] for row in status["needs_attention"]["inboxes"]] == ["ops@example.com",
                                                                                "sales@example.com"]
    assert [t["subject"] for t in status["tickets"]["items"]] == ["Invoice", "<script>alert(1)</script>"]
    assert [m["kind"] for m in status["suspended"]["items"]] == ["auto_reply", "bounce"]
