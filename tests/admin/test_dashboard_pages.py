"""The dashboard's inbox, ticket and search pages, as an operator opens them: behind the token, all escaped."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from html import unescape

from sqlmodel import select

from connector.bootstrap import Runtime
from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskEvent
from connector.store.inboxes import get_inbox
from connector.store.lease_models import InboxLease
from connector.store.models import Comment, StoredAttachment, Ticket
from connector.store.outbound_models import OutgoingMail
from connector.store.push import record_watch_failure
from connector.store.types import utcnow

from .conftest import ADMIN_TOKEN, EVIL_SUBJECT, FakeDaemon


def test_the_pages_need_the_admin_token_like_the_dashboard(runtime, serve):
    anonymous = serve(runtime, token=None)
    for path in ("/dashboard/inboxes/help@example.com", "/dashboard/tickets/1", "/dashboard/search?q=a"):
        response = anonymous.get(path)
        assert response.status_code == 401 and "admin token" in response.text, path
    assert anonymous.get(f"/?token={ADMIN_TOKEN}").status_code == 303      # the cookie then opens them
    assert anonymous.get("/dashboard/tickets/1").status_code == 200
    assert "default-src 'none'" in anonymous.get("/dashboard/tickets/1").headers["Content-Security-Policy"]


def test_an_inbox_page_shows_its_passes_error_fix_lease_and_push(runtime, serve):
    with session_scope(runtime.engine) as session:
        ops = get_inbox(session, "ops@example.com")
        session.add(InboxLease(inbox_id=ops.id, holder="host-a:4242:beef", acquired_at=utcnow(),
                               expires_at=utcnow() + timedelta(minutes=2)))
        record_watch_failure(session, ops.id, "projects/p/topics/gmail", "<b>Gmail refused the topic</b>", True, utcnow())
    client = serve(runtime, FakeDaemon())
    page = client.get("/dashboard/inboxes/ops@example.com").text
    assert "rate_limited" in page and "quota exceeded" in page and "failing now" in page
    assert "the inbox waits and retries by itself" in page                           # the fix for the kind
    assert "host-a:4242:beef" in page and "not watching" in page
    assert "&lt;b&gt;Gmail refused the topic&lt;/b&gt;" in page and "<b>Gmail" not in page
    assert "<dd>0 of 6,000 (0% of Google's per-user limit)</dd>" in page           # no pass ran in this process
    assert 'action="/inboxes/ops@example.com/sync"' in page                         # the actions are there too
    sales = client.get("/dashboard/inboxes/sales@example.com").text
    assert "gmail-connector auth add sales@example.com --client-secrets client_secret.json" in unescape(sales)
    help_ = client.get("/dashboard/inboxes/HELP@example.com").text                   # addresses are case-blind
    assert "No pass of this inbox has failed." in help_ and "<code>4242</code>" in help_
    assert "Never watched" in help_ and "No daemon holds this inbox now" in help_
    assert client.get("/dashboard/inboxes/nobody@example.com").status_code == 404


def _webhook_runtime(runtime: Runtime) -> Runtime:
    return Runtime(settings=replace(runtime.settings, webhook_secret="s3cret-for-links"), engine=runtime.engine)


def test_a_ticket_page_shows_messages_attachments_replies_and_delivery(runtime, serve):
    runtime = _webhook_runtime(runtime)
    with session_scope(runtime.engine) as session:
        comment = session.exec(select(Comment).where(Comment.ticket_id == 1)).one()
        comment.body_text = "Please help: " + EVIL_SUBJECT
        stored = runtime.settings.attachments_dir / "ab" / "invoice.pdf"
        stored.parent.mkdir(parents=True)
        stored.write_bytes(b"%PDF-1.4 fake")
        session.add(StoredAttachment(comment_id=comment.id, filename='<img src=x onerror=1>.pdf', size=13,
                                     content_type="application/pdf", sha256="0", path="ab/invoice.pdf"))
        session.add(OutgoingMail(ticket_id=1, from_address="help@example.com", message_id="r1@help.example",
                                 to_addresses="ann@example.com", subject="Re: hello", state="failed", attempts=3,
                                 last_error="smtp relay refused: 550 5.7.1"))
        session.add(OutgoingMail(ticket_id=1, from_address="help@example.com", message_id="r2@help.example",
                                 to_addresses="ann@example.com", subject="Re: hello again", state="sent", attempts=1,
                                 transport="gmail", sent_at=utcnow()))
        session.add(HelpdeskEvent(ticket_id=1, kind="ticket.created", state="failed", destination="zendesk",
                                  attempts=2, last_error="zendesk said 422"))
    client = serve(runtime)
    page = client.get("/dashboard/tickets/1").text
    assert "<script>" not in page and "<img" not in page
    assert f"Ticket #1: {EVIL_SUBJECT.replace('<', '&lt;').replace('>', '&gt;')}" in page
    assert "Please help: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Ann Customer &lt;ann@example.com&gt;" in page and "from the customer" in page
    assert ">failed</span>" in page and "smtp relay refused: 550 5.7.1" in page and "Re: hello again" in page
    assert "sent" in page and "by gmail" in page
    assert "zendesk said 422" in page and "ticket.created" in page
    link = unescape(re.search(r'<a href="(/attachments/[^"]+)" download>', page).group(1))
    download = client.get(link)
    assert download.status_code == 200 and download.content == b"%PDF-1.4 fake"
    assert client.get("/dashboard/tickets/999").status_code == 404


def test_without_a_webhook_secret_attachments_are_listed_without_links(runtime, serve):
    with session_scope(runtime.engine) as session:
        comment = session.exec(select(Comment).where(Comment.ticket_id == 2)).one()
        session.add(StoredAttachment(comment_id=comment.id, filename="a.png", size=2048, content_type="image/png",
                                     sha256="0", path="x/a.png"))
    page = serve(runtime).get("/dashboard/tickets/2").text
    assert "a.png" in page and "download links need WEBHOOK_SECRET" in page and "/attachments/" not in page


def test_search_finds_inboxes_and_tickets_and_escapes_what_was_typed(runtime, serve):
    client = serve(runtime)
    found = client.get("/dashboard/search", params={"q": "invoice"}).text
    assert 'href="/dashboard/tickets/2"' in found and 'href="/dashboard/tickets/1"' not in found
    by_number = client.get("/dashboard/search", params={"q": "#1"}).text
    assert 'href="/dashboard/tickets/1"' in by_number
    inboxes = client.get("/dashboard/search", params={"q": "Sales"}).text
    assert 'href="/dashboard/inboxes/sales@example.com"' in inboxes and "help@example.com</a>" not in inboxes
    hostile = client.get("/dashboard/search", params={"q": '"><script>x</script>'}).text
    assert "<script>x" not in hostile and 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in hostile
    everything = client.get("/dashboard/search", params={"q": "%"}).text     # a wildcard is a character here
    assert "No ticket matches." in everything and "No inbox matches." in everything


def test_the_ticket_list_shows_the_group_and_flags_and_links_each_ticket(runtime, serve):
    with session_scope(runtime.engine) as session:
        ticket = session.get(Ticket, 2)
        ticket.group, ticket.flags = "Billing & Co", "bulk,multi_forward"
    page = serve(runtime).get("/").text
    row = re.search(r'<tr><td data-label="#"><a class="ticket" href="/dashboard/tickets/2">.*?</tr>', page).group(0)
    assert "Billing &amp; Co" in row and '<span class="flag">bulk</span><span class="flag">multi forward</span>' in row
    assert '<th scope="col">Group</th><th scope="col">Flags</th>' in page
    assert 'href="/dashboard/inboxes/help@example.com"' in page
