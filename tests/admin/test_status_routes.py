"""GET /status and its lists over HTTP: the filters, the next links, the 422s, and counts that match a recount."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert
from sqlmodel import select

from connector.admin.schemas import InboxStatus
from connector.admin.status import build_status
from connector.admin.status_schemas import InboxPage, StatusView, SuspendedPage, TicketPage
from connector.bootstrap import Runtime
from connector.store.db import session_scope
from connector.store.models import Inbox, RawMail, SuspendedMail, Ticket
from connector.store.push_models import PushWatch
from connector.store.types import utcnow

from .conftest import NOW, FakeDaemon


def test_status_filters_its_inbox_page_and_counts_everything(runtime, serve):
    client = serve(runtime, FakeDaemon())
    status = client.get("/status?state=needs_reauth").json()
    assert [row["address"] for row in status["inboxes"]] == ["sales@example.com"]
    assert status["totals"]["inboxes"] == 3                      # the summary is never filtered
    assert status["needs_attention"]["count"] == 2
    assert [row["address"] for row in client.get("/status?q=OPS").json()["inboxes"]] == ["ops@example.com"]
    errors = client.get("/status/inboxes?credential=error").json()
    assert [row["address"] for row in errors["items"]] == ["ops@example.com"] and errors["next"] is None


def test_following_next_reads_every_inbox_once(runtime, serve):
    with session_scope(runtime.engine) as session:
        session.execute(insert(Inbox), [{"address": f"bulk{n:02d}@example.com", "state": "paused",
                                         "created_at": NOW, "updated_at": NOW} for n in range(25)])
    client = serve(runtime)
    first = client.get("/status?state=paused&limit=10").json()
    seen, url = [row["address"] for row in first["inboxes"]], first["inboxes_page"]["next"]
    assert url.startswith("/status/inboxes?state=paused&limit=10&cursor=")
    while url:
        page = client.get(url).json()
        seen += [row["address"] for row in page["items"]]
        url = page["next"]
    assert seen == [f"bulk{n:02d}@example.com" for n in range(25)]


def test_ticket_and_held_back_lists_page_over_http(runtime, serve):
    client = serve(runtime)
    first = client.get("/status/tickets?limit=1").json()
    second = client.get(first["next"]).json()
    assert [t["subject"] for t in first["items"] + second["items"]] == ["Invoice", "<script>alert(1)</script>"]
    assert second["next"] is None and first["items"][0]["comment_count"] == 1
    held = client.get("/status/suspended?kind=bounce").json()
    assert [m["reason"] for m in held["items"]] == ["bounce: mailbox full"]
    assert client.get("/status/suspended?state=recovered").json() == {"items": [], "next_cursor": None, "next": None}


def test_a_malformed_cursor_limit_or_filter_is_a_422_not_a_500(runtime, serve):
    client = serve(runtime)
    for path in ("/status/tickets?cursor=abc", "/status/tickets?cursor=" + "9" * 19,
                 "/status/suspended?cursor=2024-05-01T12:00:00", "/status/suspended?cursor=12",
                 "/status/inboxes?limit=0", "/status/inboxes?limit=501", "/status?state=asleep",
                 "/status/inboxes?credential=maybe", "/status/suspended?state=lost", "/status?cursor=" + "a" * 321):
        response = client.get(path)
        assert response.status_code == 422, (path, response.text)


def test_text_no_row_can_hold_finds_nothing_rather_than_failing(runtime, serve):
    # PostgreSQL refuses a NUL even as a parameter; no stored text holds one, so nothing matches it.
    client = serve(runtime)
    for path in ("/status/inboxes?q=%00", "/status/tickets?status=new%00", "/status/suspended?kind=%00",
                 "/status/tickets?inbox=help%00@example.com"):
        response = client.get(path)
        assert (response.status_code, response.json()["items"]) == (200, []), path
    assert [r["address"] for r in client.get("/status/inboxes?cursor=help@example.com%00x").json()["items"]] == \
        ["ops@example.com", "sales@example.com"]
    assert client.get("/status/tickets?cursor=" + "9" * 18).json()["items"][0]["subject"] == "Invoice"


def test_the_counts_match_a_recount_of_the_rows(engine):
    with session_scope(engine) as session:
        session.execute(insert(Inbox), [{"address": f"c{n}@example.com", "state": ("active", "error")[n % 2],
                                         "imported_total": n, "created_at": NOW, "updated_at": NOW} for n in range(9)])
        ids = list(session.exec(select(Inbox.id)))
        # Mail on both sides of the 24-hour edge, and SMTP mail that belongs to no inbox.
        ages = [timedelta(hours=h) for h in (0, 1, 23, 24, 25, 48)] + [timedelta(hours=24, seconds=-1)]
        session.execute(insert(RawMail), [{"source": "gmail", "inbox_id": ids[k % len(ids)] if k % 5 else None,
                                           "gmail_id": f"g{k}", "sha256": "0", "size": 0, "raw": b"",
                                           "received_at": NOW - ages[k % len(ages)]} for k in range(60)])
        raw_ids = list(session.exec(select(RawMail.id)))
        session.execute(insert(Ticket), [{"subject": "t", "status": ("new", "open", "solved", "pending")[k % 4],
                                          "created_at": NOW, "updated_at": NOW} for k in range(23)])
        session.execute(insert(SuspendedMail), [{"raw_mail_id": r, "kind": ("loop", "bounce", "auto_reply")[k % 3],
                                                 "reason": "r", "received_at": NOW, "created_at": NOW,
                                                 "state": ("suspended", "recovered")[k % 4 == 0]}
                                                for k, r in enumerate(raw_ids[:17])])
    with session_scope(engine) as session:
        status = build_status(session, NOW)
        since = NOW - timedelta(hours=24)
        recent = session.exec(select(func.count()).select_from(RawMail).where(
            RawMail.inbox_id.is_not(None), RawMail.received_at >= since)).one()
        held = list(session.exec(select(SuspendedMail.kind).where(SuspendedMail.state == "suspended")))
        statuses = list(session.exec(select(Ticket.status)))
    expected = sum(1 for k in range(60) if k % 5 and ages[k % len(ages)] <= timedelta(hours=24))
    assert status["totals"]["imported_last_24h"] == recent == expected
    assert status["totals"]["imported_total"] == sum(range(9))
    assert status["totals"]["inboxes_by_state"] == {"active": 5, "error": 4}
    assert status["suspended_by_kind"] == {kind: held.count(kind) for kind in sorted(set(held))}
    assert status["tickets_by_status"] == {s: statuses.count(s) for s in sorted(set(statuses))}
    assert sum(row["imported_last_24h"] for row in status["inboxes"]) == recent


def test_counts_are_read_at_request_time_so_another_daemons_commit_shows_at_once(engine):
    # No counter is kept beside the rows: a write committed elsewhere (or rolled back by a crash) cannot leave
    # a stale count behind.
    with session_scope(engine) as session:
        before = build_status(session, NOW)["totals"]["tickets"]
    with session_scope(engine) as writer:
        writer.add(Ticket(subject="from another daemon"))
    try:
        with session_scope(engine) as writer:
            writer.add(Ticket(subject="crashed before commit"))
            raise RuntimeError("the daemon died")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        assert build_status(session, NOW)["totals"]["tickets"] == before + 1


def test_metrics_still_report_every_inbox_beyond_one_page(runtime, serve):
    with session_scope(runtime.engine) as session:
        session.execute(insert(Inbox), [{"address": f"m{n:02d}@example.com", "imported_total": n,
                                         "created_at": NOW, "updated_at": NOW} for n in range(60)])
    text = serve(runtime, FakeDaemon()).get("/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    imported = {s.labels["inbox"]: s.value for s in families["gmail_connector_imported_messages"].samples}
    assert len(imported) == 63 and imported["m59@example.com"] == 59 and imported["help@example.com"] == 7
    states = [s for s in families["gmail_connector_inbox_state"].samples if s.value == 1]
    assert len(states) == 63
    assert 'gmail_connector_tickets{status="new"} 2.0' in text


def test_every_answer_is_exactly_its_documented_model(runtime, serve):
    # The routes skip FastAPI's response validation for speed; this holds them to the models instead.
    client = serve(runtime, FakeDaemon())

    def same_keys(model, body: dict) -> None:
        assert set(body) == set(model.model_fields), (model.__name__, set(body) ^ set(model.model_fields))
        model.model_validate(body)
    same_keys(StatusView, client.get("/status").json())
    same_keys(InboxPage, client.get("/status/inboxes?limit=1").json())
    same_keys(TicketPage, client.get("/status/tickets?limit=1").json())
    same_keys(SuspendedPage, client.get("/status/suspended?limit=1").json())
    assert set(client.get("/status/inboxes?limit=1").json()["items"][0]) == set(InboxStatus.model_fields)


def test_metrics_report_each_inbox_push_watch_when_push_is_configured(runtime, serve):
    with session_scope(runtime.engine) as session:
        help_id = session.exec(select(Inbox.id).where(Inbox.address == "help@example.com")).one()
        session.add(PushWatch(inbox_id=help_id, topic="projects/p/topics/t", expiration=utcnow() + timedelta(days=7),
                              renewed_at=utcnow(), notifications=4, recovered_by_poll=1))
    settings = replace(runtime.settings, pubsub_topic="projects/p/topics/t",
                       pubsub_subscription="projects/p/subscriptions/s")
    text = serve(Runtime(settings=settings, engine=runtime.engine), FakeDaemon()).get("/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    watching = {s.labels["inbox"]: s.value for s in families["gmail_connector_push_enabled"].samples}
    notes = {s.labels["inbox"]: s.value for s in families["gmail_connector_push_notifications"].samples}
    assert watching == {"help@example.com": 1.0, "ops@example.com": 0.0, "sales@example.com": 0.0}
    assert (notes["help@example.com"], notes["sales@example.com"]) == (4.0, 0.0)
