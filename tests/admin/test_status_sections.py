"""Forwarding, the outgoing queue, sync errors, quota units and latency: on /status and /metrics."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from connector.admin.app import create_app
from connector.admin.latency import ArrivalLatency
from connector.admin.server import AdminServer
from connector.admin.status import build_status
from connector.gmail.usage import ApiUsage
from connector.store.db import session_scope
from connector.store.forwarding_models import ExternalAddress
from connector.store.models import Ticket
from connector.store.outbound_models import OutgoingMail
from connector.store.raw import store_raw
from connector.store.tickets import apply_decision

from .conftest import NOW, Client, FakeDaemon, _ticket


def add_external(engine, **fields) -> None:
    with session_scope(engine) as session:
        session.add(ExternalAddress(**fields))


def add_outgoing(engine, n: int, state: str, error: str | None = None) -> None:
    with session_scope(engine) as session:
        ticket_id = session.exec(select(Ticket.id)).first()
        session.add(OutgoingMail(ticket_id=ticket_id, from_address="help@example.com", message_id=f"out{n}@x",
                                 to_addresses="ann@example.com", subject=f"Re: {n}", state=state, last_error=error))


def status_of(engine, usage=None) -> dict:
    with session_scope(engine) as session:
        return build_status(session, NOW, None, usage)


def test_a_failed_forwarding_shows_its_reason_and_a_pending_one_its_confirmation(populated):
    add_external(populated, external_address="billing@example.com", support_address="billing@help.test",
                 state="failed", failure_reason="the filter was deleted in Gmail")
    add_external(populated, external_address="contact@example.com", support_address="contact@help.test",
                 state="awaiting_confirmation", confirmation_code="123456", confirmation_link="https://g.test/c")
    add_external(populated, external_address="sales@example.com", support_address="sales@help.test",
                 state="verified", confirmation_code="999", confirmation_link="https://g.test/old", verified_at=NOW)
    rows = {row["external_address"]: row for row in status_of(populated)["external_addresses"]}
    assert (rows["billing@example.com"]["state"], rows["billing@example.com"]["failure_reason"]) == \
        ("failed", "the filter was deleted in Gmail")
    assert (rows["contact@example.com"]["confirmation_code"], rows["contact@example.com"]["confirmation_link"]) == \
        ("123456", "https://g.test/c")
    verified = rows["sales@example.com"]
    assert (verified["confirmation_code"], verified["confirmation_link"], verified["verified_at"]) == \
        (None, None, "2024-05-01T12:00:00Z")  # a done confirmation is no longer an instruction


def test_outgoing_queue_depth_and_failures(populated):
    for n, state in enumerate(["queued", "queued", "sending", "waiting_cap", "sent", "private"]):
        add_outgoing(populated, n, state)
    add_outgoing(populated, 9, "failed", "550 5.7.1 relay refused")
    outgoing = status_of(populated)["outgoing"]
    assert (outgoing["pending"], outgoing["failed"]) == (4, 1)
    assert outgoing["by_state"] == {"failed": 1, "private": 1, "queued": 2, "sending": 1, "sent": 1, "waiting_cap": 1}
    assert [(f["to"], f["subject"], f["last_error"]) for f in outgoing["recent_failures"]] == \
        [("ann@example.com", "Re: 9", "550 5.7.1 relay refused")]


def test_sync_errors_by_kind_count_inboxes_failing_now(populated):
    assert status_of(populated)["sync_errors_by_kind"] == {"auth_revoked": 1, "rate_limited": 1}


def test_quota_units_are_unknown_without_a_daemon_and_counted_with_one(populated):
    assert {row["quota_units_last_minute"] for row in status_of(populated)["inboxes"]} == {None}
    assert status_of(populated)["api_usage_by_method"] is None
    usage = ApiUsage()
    usage.record("help@example.com", "messages.get")
    usage.record("help@example.com", "history.list")
    status = status_of(populated, usage)
    help_ = next(row for row in status["inboxes"] if row["address"] == "help@example.com")
    sales = next(row for row in status["inboxes"] if row["address"] == "sales@example.com")
    assert (help_["quota_units_last_minute"], help_["quota_units_last_day"]) == (7, 7)
    assert (sales["quota_units_last_minute"], sales["quota_units_last_day"]) == (0, 0)
    assert status["api_usage_by_method"] == {"history.list": {"calls": 1, "units": 2},
                                             "messages.get": {"calls": 1, "units": 5}}


def deliver_ticket(engine, n: int, arrived_ago: timedelta, attachments_dir) -> None:
    with session_scope(engine) as session:
        raw = store_raw(session, "gmail", f"Subject: {n}\r\n\r\nx\r\n".encode(), gmail_id=f"lat{n}",
                        internal_date=NOW - arrived_ago, message_id=f"lat{n}@example.com", received_at=NOW)
        apply_decision(session, raw, _ticket(f"latency {n}", f"lat{n}@example.com"), attachments_dir, NOW)


def test_latency_counts_each_new_comment_once(populated, tmp_path):
    latency = ArrivalLatency(since=NOW - timedelta(hours=1))
    deliver_ticket(populated, 1, timedelta(seconds=90), tmp_path / "att")
    deliver_ticket(populated, 2, timedelta(seconds=-3), tmp_path / "att")   # Google's clock a little ahead
    for _ in range(2):
        with session_scope(populated) as session:
            latency.refresh(session)
    sample = {s.labels.get("le"): s.value for s in latency.metric().samples if s.name.endswith("_bucket")}
    assert (sample["5.0"], sample["60.0"], sample["120.0"], sample["+Inf"]) == (1, 1, 2, 2)
    total = next(s.value for s in latency.metric().samples if s.name.endswith("_sum"))
    assert total == 90.0


def test_metrics_show_units_errors_queue_and_latency(runtime, tmp_path):
    usage = ApiUsage()
    usage.record("help@example.com", "messages.get")
    add_outgoing(runtime.engine, 1, "queued")
    daemon = FakeDaemon(started_at=NOW - timedelta(hours=1))
    with AdminServer(create_app(runtime, daemon, usage), "127.0.0.1", 0) as server:
        deliver_ticket(runtime.engine, 1, timedelta(seconds=20), tmp_path / "att")
        client = Client(f"http://127.0.0.1:{server.port}")
        text = client.get("/metrics").text
        client.close()
    assert 'gmail_connector_api_units_total{method="messages.get"} 5.0' in text
    assert 'gmail_connector_api_calls_total{method="messages.get"} 1.0' in text
    assert 'gmail_connector_inbox_quota_units_last_minute{inbox="help@example.com"} 5.0' in text
    assert 'gmail_connector_sync_errors{kind="rate_limited"} 1.0' in text
    assert "gmail_connector_outgoing_queue_depth 1.0" in text
    assert 'gmail_connector_outgoing_mails{state="queued"} 1.0' in text
    assert 'gmail_connector_arrival_to_ticket_seconds_bucket{le="30.0"} 1.0' in text
    assert 'gmail_connector_arrival_to_ticket_seconds_bucket{le="15.0"} 0.0' in text
