"""The dashboard a person reads: escaped mail, plain-words health, working buttons."""
from __future__ import annotations

import re
from datetime import timedelta

from connector.admin.render import render_dashboard
from connector.admin.status_pages import DEFAULT_LIMIT
from connector.store.db import session_scope
from connector.store.inboxes import add_inbox
from connector.admin.words import age_words, when_words
from connector.store.types import utcnow

from .conftest import NOW, FakeDaemon


def test_mail_content_is_escaped(runtime, serve):
    page = serve(runtime).get("/").text
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # the ticket and the held-back mail


def test_the_page_refuses_to_run_scripts_even_if_escaping_failed(runtime, serve):
    response = serve(runtime).get("/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_each_inbox_shows_its_health_in_words(runtime, serve):
    daemon = FakeDaemon(started_at=utcnow() - timedelta(hours=2, seconds=5))
    client = serve(runtime, daemon)
    page = client.get("/").text
    # A page that reloads under a reader is a barrier (WCAG 2.2.1): it refreshes only when asked to.
    assert 'http-equiv="refresh"' not in page and 'href="/?refresh=on"' in page
    assert '<meta http-equiv="refresh" content="30">' in client.get("/?refresh=on").text
    assert "needs re-authorisation" in page
    assert "gmail-connector auth add sales@example.com --client-secrets client_secret.json" in page
    assert "rate_limited: quota exceeded" in page
    assert "auto_reply: <b>1</b>" in page and "new: <b>2</b>" in page
    assert "up 2 hours, scheduler running" in page


def test_the_buttons_post_to_the_actions(runtime, serve):
    client = serve(runtime, FakeDaemon())
    page = client.get("/").text
    actions = set(re.findall(r'<form method="post" action="([^"]+)">', page))
    assert {"/inboxes/help@example.com/sync", "/inboxes/help@example.com/pause"} <= actions
    recover = next(a for a in actions if a.endswith("/recover"))
    response = client.post(recover, headers={"Accept": "text/html"})
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    assert recover not in client.get("/").text  # recovered mail leaves the list


def test_without_a_daemon_there_is_no_sync_button(runtime, serve):
    page = serve(runtime).get("/").text
    assert "/sync" not in page and "daemon not attached" in page


def test_a_paused_inbox_offers_resume():
    status = {"version": "0.1.0", "generated_at": "2024-05-01T12:00:00Z", "uptime_seconds": None,
              "scheduler": "not_attached", "suspended_by_kind": {}, "tickets_by_status": {},
              "totals": {"inboxes": 1, "needs_reauth": 0, "imported_last_24h": 0, "imported_total": 0,
                         "suspended": 0, "tickets": 0},
              "inboxes": [{"address": "a&b@example.com", "group": "<G>", "mode": "direct", "state": "paused",
                           "credential": {"state": "ok", "command": None, "message": None},
                           "last_success_age_seconds": None, "imported_last_24h": 0, "imported_total": 0,
                           "next_run_at": None, "backoff_until": None, "consecutive_failures": 0}]}
    page = render_dashboard(status, [], [], NOW, can_sync=False)
    assert 'action="/inboxes/a%26b@example.com/resume"' in page and "/pause" not in page
    assert "a&amp;b@example.com" in page and "&lt;G&gt;" in page
    assert "never" in page and "Nothing held back." in page and "No tickets yet." in page


def test_ages_in_words():
    assert [age_words(s) for s in (None, 2, 59, 60, 125, 7200, 90000)] == \
        ["never", "just now", "59 seconds ago", "1 minute ago", "2 minutes ago", "2 hours ago", "1 day ago"]
    assert when_words(NOW + timedelta(seconds=30), NOW) == "in 30 seconds"
    assert when_words(NOW - timedelta(minutes=3), NOW) == "3 minutes ago"
    assert (when_words(None, NOW), when_words(NOW, NOW)) == ("not scheduled", "now")


def test_long_lists_are_cut_with_a_pointer_to_the_rest():
    status = {"version": "0.1.0", "generated_at": "2024-05-01T12:00:00Z", "uptime_seconds": None,
              "scheduler": "not_attached", "suspended_by_kind": {"loop": 150}, "tickets_by_status": {"new": 500},
              "totals": {"inboxes": 0, "needs_reauth": 0, "imported_last_24h": 0, "imported_total": 0,
                         "suspended": 150, "tickets": 500}, "inboxes": []}
    held = [{"id": n, "received_at": None, "from": "a@example.com", "subject": f"s{n}", "reason": "loop",
             "kind": "loop"} for n in range(150)]
    tickets = [{"id": n, "subject": f"t{n}", "status": "new", "inbox": None, "created_at": None,
                "requester": {"name": "", "email": "a@example.com"}} for n in range(20)]
    page = render_dashboard(status, held, tickets, NOW, can_sync=False)
    assert page.count("/recover") == 100 and "The 100 newest of 150" in page
    assert "The 20 newest of 500" in page and "<code>GET /tickets</code>" in page


def test_a_page_of_held_back_mail_says_how_many_there_are_in_all():
    status = {"version": "0.1.0", "generated_at": "2024-05-01T12:00:00Z", "uptime_seconds": None,
              "scheduler": "not_attached", "suspended_by_kind": {"loop": 250}, "tickets_by_status": {},
              "totals": {"inboxes": 0, "needs_reauth": 0, "imported_last_24h": 0, "imported_total": 0,
                         "suspended": 250, "tickets": 0}, "inboxes": []}
    held = [{"id": n, "received_at": None, "from": "a@example.com", "subject": f"s{n}", "reason": "loop",
             "kind": "loop"} for n in range(100)]     # the dashboard reads one page, not all 250
    page = render_dashboard(status, held, [], NOW, can_sync=False)
    assert page.count("/recover") == 100 and "The 100 newest of 250" in page



def test_many_inboxes_are_shown_a_page_at_a_time_with_the_way_to_the_next(runtime, serve):
    with session_scope(runtime.engine) as session:
        for n in range(DEFAULT_LIMIT + 5):
            add_inbox(session, f"team{n:03d}@example.com")
    client = serve(runtime)
    first = client.get("/").text
    total = DEFAULT_LIMIT + 5 + 3
    assert f"{DEFAULT_LIMIT} of {total} inboxes shown" in first
    link = re.search(r'href="(/\?inboxes_after=[^"]+)">next', first).group(1)
    rest = client.get(link.replace("&amp;", "&")).text
    cell = r"<td data-label=\"Inbox\">(team\d+@example\.com)</td>"
    shown = set(re.findall(cell, first)) | set(re.findall(cell, rest))
    assert len(shown) == DEFAULT_LIMIT + 5 and "back to the first inboxes" in rest
    assert "inboxes_after=" not in rest             # the last page has no next
