"""The dashboard's charts: counted by the database from its indexes, drawn as named, labelled, tabled SVG."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event
from sqlmodel import Session

from connector.admin.chart_data import PER_USER_UNITS_PER_MINUTE, ChartData, collect
from connector.admin.charts import charts_section, quota_chart
from connector.admin.svg import Bar, bar_list
from connector.gmail.usage import ApiUsage
from connector.mail.decision import CreateTicket, NewComment, Suspend
from connector.mail.model import Address
from connector.store.chart_queries import imported_by_hour, latency_counts
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.raw import store_raw
from connector.store.tickets import apply_decision

from .conftest import NOW


def test_mail_is_counted_per_hour_for_all_inboxes_or_one(populated):
    with Session(populated) as session:
        help_ = get_inbox(session, "help@example.com")
        hour = NOW.replace(minute=0) - timedelta(hours=1)
        two_days = NOW.replace(minute=0) - timedelta(days=2)
        assert imported_by_hour(session, NOW - timedelta(days=7)) == {hour: 3, two_days: 1}
        assert imported_by_hour(session, NOW - timedelta(days=1), help_.id) == {hour: 3}
        assert imported_by_hour(session, NOW - timedelta(days=7), get_inbox(session, "sales@example.com").id) == {}


def test_the_day_and_hour_charts_add_up(populated):
    with Session(populated) as session:
        data = collect(session, NOW, None, {"bounce": 1})
    assert len(data.hourly) == 24 and data.hourly[-1][0] == NOW.replace(minute=0)
    assert sum(n for _, n in data.hourly) == 3                 # the mail of two days ago is older than 24 h
    assert [n for _, n in data.daily] == [0, 0, 0, 0, 1, 0, 3] and data.daily[-1][0].hour == 0
    assert data.quota is None                                   # no daemon in this process: not measured


def _mail(session, attachments_dir, n: int, arrived_ago: timedelta, decision) -> None:
    inbox = get_inbox(session, "help@example.com")
    raw = store_raw(session, "gmail", f"Subject: {n}\r\n\r\nbody\r\n".encode(), inbox_id=inbox.id, gmail_id=f"lat{n}",
                    message_id=f"lat{n}@example.com", internal_date=NOW - arrived_ago, received_at=NOW - arrived_ago / 2)
    apply_decision(session, raw, decision, attachments_dir, NOW)


def _ticket(n: int) -> CreateTicket:
    customer = Address("Ann", "ann@example.com")
    return CreateTicket(subject=f"lat {n}", requester=customer, group="Support", received_at_address="help@example.com",
                        comment=NewComment(author=customer, body_text="hi", body_html=None, public=True,
                                           message_id=f"lat{n}@example.com"))


def test_latency_runs_from_gmail_to_the_ticket_and_leaves_held_back_mail_out(populated, tmp_path):
    with session_scope(populated) as session:
        _mail(session, tmp_path, 1, timedelta(seconds=10), _ticket(1))
        _mail(session, tmp_path, 2, timedelta(minutes=3), _ticket(2))
        _mail(session, tmp_path, 3, timedelta(hours=2), _ticket(3))
        _mail(session, tmp_path, 4, timedelta(seconds=5), Suspend(reason="auto-reply", kind="auto_reply"))
    with Session(populated) as session:
        assert latency_counts(session, NOW - timedelta(hours=24)) == [1, 0, 1, 0, 0, 1, 0, 0]
        assert latency_counts(session, NOW - timedelta(minutes=30)) == [1, 0, 1, 0, 0, 0, 0, 0]


def _plans(engine, run) -> list[str]:
    """SQLite's plan of every statement `run` sends: which index each one reads."""
    sent: list[tuple[str, tuple]] = []
    listener = lambda conn, cursor, statement, params, context, many: sent.append((statement, params))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    with engine.execution_options(sqlite_deferred=True).connect() as connection:
        return [" ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
                for sql, params in sent if sql.lstrip().upper().startswith("SELECT")]


def test_the_charts_read_indexes_never_every_stored_mail(engine, database_url):
    if not database_url.startswith("sqlite"):
        return   # the plan's words are SQLite's; PostgreSQL picks its own with the same indexes
    with Session(engine.execution_options(sqlite_deferred=True)) as session:
        plans = _plans(engine, lambda: collect(session, NOW, None, {}))
        one = _plans(engine, lambda: imported_by_hour(session, NOW - timedelta(days=7), 1))
    hourly, daily, latency = plans
    assert "COVERING INDEX ix_raw_mails_received_at_inbox_id" in hourly
    assert daily.count("COVERING INDEX ix_raw_mails_received_at_inbox_id (received_at>? AND received_at<?)") == 7
    assert "INDEX ix_raw_mails_received_at_inbox_id (received_at>?)" in latency
    assert not any("SCAN raw_mails" in plan for plan in plans + one)
    assert "COVERING INDEX ix_raw_mails_inbox_id_received_at" in one[0]


def _data(**changes) -> ChartData:
    hours = [NOW.replace(minute=0) - timedelta(hours=n) for n in range(23, -1, -1)]
    days = [NOW.replace(hour=0, minute=0) - timedelta(days=n) for n in range(6, -1, -1)]
    fields = dict(now=NOW, hourly=[(h, 2 if h.hour == 9 else 0) for h in hours], daily=[(d, 5) for d in days],
                  latency=[4, 3, 2, 1, 0, 0, 0, 0], quota=[("help@example.com", 5400), ("sales@example.com", 30)],
                  quota_inboxes=2, held_back={"auto_reply": 3, "bounce": 1})
    return ChartData(**(fields | changes))


def test_each_chart_is_a_named_image_with_its_numbers_in_a_table():
    html = charts_section(_data())
    assert html.count('role="img"') == 5
    for labelled in re.findall(r'aria-labelledby="([^"]+)"', html):
        title, desc = labelled.split()
        assert f'<title id="{title}">' in html and f'<desc id="{desc}">' in html
    assert "2 mails imported in the last 24 hours; the busiest hour was 09:00 UTC with 2." in html
    assert "35 mails imported over the last 7 days, 5 of them today (UTC)." in html
    assert ("10 mails became tickets in the last 24 hours; 70% within a minute of reaching Gmail, "
            "half of them within a minute.") in html
    assert "4 mails held back, most often as auto reply (3)." in html
    assert html.count("<table>") == 5 and '<th scope="row">Wed 09:00</th><td class="num">2</td>' in html


def test_an_inbox_near_its_quota_says_so_in_words_not_only_in_red():
    html = quota_chart(_data().quota, 2)
    assert f"limit {PER_USER_UNITS_PER_MINUTE:,}" in html
    assert "5,400 · near the limit: 90% of 6,000" in html and 'class="bar alert"' in html
    assert "30 · 0% of 6,000" in html and html.count('class="bar alert"') == 1
    assert "Not measured" in quota_chart(None, 0)


def test_the_quota_chart_counts_what_the_daemon_spent(populated):
    usage = ApiUsage(clock=lambda: 1000.0)
    for _ in range(3):
        usage.record("help@example.com", "messages.get")       # 5 units each
    usage.record("sales@example.com", "history.list")          # 2 units
    with Session(populated) as session:
        data = collect(session, NOW, usage, {})
    assert (data.quota, data.quota_inboxes) == ([("help@example.com", 15), ("sales@example.com", 2)], 2)


def test_chart_labels_are_escaped():
    html = bar_list("c", "<b>t</b>", "s & s", [Bar('<script>alert(1)</script>', 3, note="<i>")], ("a", "b"))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;t&lt;/b&gt;" in html and "s &amp; s" in html and "&lt;i&gt;" in html
