"""The django-helpdesk adapter against a real django-helpdesk 2.6 (scripts/start-django-helpdesk.sh), read as its agent.

Without the server these tests skip. The tests at the end need none: through `responses`, they check
how answers the real server will not give (429, 5xx) and refusals map to the port's errors.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
import requests
import responses

from connector.helpdesk.django_helpdesk import DjangoHelpdesk
from connector.helpdesk.port import (CredentialsRefused, EventRefused, FileToDeliver, HelpdeskMessage,
                                     HelpdeskRefused, HelpdeskUnavailable, NewHelpdeskTicket, Person,
                                     WebhookCall)
from tests.helpdesk.django_helpdesk_server import Agent, DjangoHelpdeskServer, events, find_server

ZOE = Person("Zoë Müller", "zoe.muller@example.org")
BOB = Person("Bob, Jr.", "bob.cc@example.org")
PDF = b"%PDF-1.4\n\x00\x01\x02\xff binary bytes \xfe\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
WHEN = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)
SUBJECT = "Problème de facture n°7 — été"


def message(key: str, *, public: bool = True, text: str = "Ma facture est fausse.",
            files: tuple[FileToDeliver, ...] = ()) -> HelpdeskMessage:
    return HelpdeskMessage(key=key, author=ZOE, body_text=text, body_html=None, message_id=f"{key}@mail.example.org",
                           created_at=WHEN, public=public, cc=(BOB,), attachments=files)


def new_ticket(key: str, queue: str = "1", **first) -> NewHelpdeskTicket:
    return NewHelpdeskTicket(key=key, our_ticket_id=42, subject=SUBJECT, requester=ZOE, queue=queue,
                             first=message(f"{key}-m1", **first), cc=(BOB,))


class LosingSession(requests.Session):
    """Sends each request; for the first one `lose` picks, the answer is lost (as in a crash after sending)."""

    def __init__(self, lose: Callable[[requests.PreparedRequest], bool]):
        super().__init__()
        self.lose, self.lost = lose, 0

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        response = super().send(request, **kwargs)
        if not self.lost and self.lose(request):
            self.lost += 1
            raise requests.ConnectionError("the answer was lost")
        return response


def posts_to(path: str, nth: int = 1) -> Callable[[requests.PreparedRequest], bool]:
    """The `nth` POST to `path`."""
    seen = []

    def wanted(request: requests.PreparedRequest) -> bool:
        if request.method == "POST" and request.path_url.startswith(path):
            seen.append(request.path_url)
        return len(seen) == nth
    return wanted


@pytest.fixture(scope="session")
def django_helpdesk_server() -> DjangoHelpdeskServer:
    return find_server()


@pytest.fixture(scope="session")
def django_helpdesk_agent(django_helpdesk_server):
    agent = Agent(django_helpdesk_server)
    yield agent
    agent.close()


@pytest.fixture
def desk(django_helpdesk_server):
    adapter = django_helpdesk_server.adapter()
    yield adapter
    adapter.close()


def with_key(agent, key: str) -> list[dict]:
    return [ticket for ticket in agent.tickets() if f"ticket={key} " in ticket["description"]]


def test_ticket_has_submitter_queue_and_the_attachments_bytes(desk, django_helpdesk_agent, key):
    files = (FileToDeliver("facture \"été\".pdf", "application/pdf", PDF),
             FileToDeliver("logo.png", "image/png", PNG),
             FileToDeliver("page.html", "text/html", b"<script>alert(1)</script>"),
             FileToDeliver("empty.txt", "text/plain", b""))
    delivered = desk.open_ticket(new_ticket(f"{key}-t", files=files))

    number = delivered.remote_ticket_id
    assert delivered.url == f"{desk._api.base}/tickets/{number}/"
    ticket = django_helpdesk_agent.ticket(number)
    assert (ticket["title"], ticket["submitter_email"], ticket["queue"], ticket["status"]) == (SUBJECT, ZOE.email, 1, 1)
    assert ticket["description"].startswith(
        'From: "Zoë Müller" <zoe.muller@example.org>\nCc: "Bob, Jr." <bob.cc@example.org>\n'
        'Date: Mon, 30 Nov 2026 09:15:00 +0000\nNot attached (empty): empty.txt\n\nMa facture est fausse.\n\n')
    (opening,) = django_helpdesk_agent.followups(number)
    assert delivered.remote_item_id == str(opening["id"]) and opening["public"] is True
    assert django_helpdesk_agent.files(opening) == {"facture \"été\".pdf": PDF, "logo.png": PNG,
                                                     "page.html": b"<script>alert(1)</script>"}
    kinds = {part["filename"]: part["mime_type"] for part in opening["followupattachment_set"]}
    assert kinds["facture \"été\".pdf"] == "application/pdf" and kinds["page.html"] == "text/html"
    html_link = next(part["file"] for part in opening["followupattachment_set"] if part["filename"] == "page.html")
    assert not html_link.endswith(".html")      # never served from MEDIA_URL as a page


def test_customer_followup_and_note_keep_the_ticket_title(desk, django_helpdesk_agent, key):
    number = desk.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    answer = desk.add_message(number, message(f"{key}-c2", text="Re: still wrong {{ ticket.title }} {% now %}",
                                              files=(FileToDeliver("scan.pdf", "application/pdf", PDF),)))
    note = desk.add_message(number, message(f"{key}-c3", public=False, text="Auto-reply: I am away."))

    followups = {str(item["id"]): item for item in django_helpdesk_agent.followups(number)}
    assert followups[answer.remote_item_id]["public"] is True
    comment = followups[answer.remote_item_id]["comment"].replace("\u200b", "")
    assert comment.startswith('From: "Zoë Müller" <zoe.muller@example.org>\n')
    assert "Re: still wrong {{ ticket.title }} {% now %}" in comment     # text, not a template
    assert django_helpdesk_agent.files(followups[answer.remote_item_id]) == {"scan.pdf": PDF}
    assert followups[note.remote_item_id]["public"] is False
    assert "Auto-reply: I am away." in followups[note.remote_item_id]["comment"]
    assert django_helpdesk_agent.ticket(number)["title"] == SUBJECT


def test_reopen_a_resolved_ticket(desk, django_helpdesk_agent, key):
    number = desk.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    django_helpdesk_agent.write(number, "", public=False, status=3)
    assert django_helpdesk_agent.ticket(number)["status"] == 3

    desk.reopen(number, f"{key}-r1")
    assert django_helpdesk_agent.ticket(number)["status"] == 2
    count = len(django_helpdesk_agent.followups(number))
    desk.reopen(number, f"{key}-r1")            # a retry: already open, nothing more written
    assert len(django_helpdesk_agent.followups(number)) == count


def test_a_lost_ticket_answer_is_found_not_made_twice(django_helpdesk_server, django_helpdesk_agent, key):
    session = LosingSession(posts_to("/api/tickets/"))
    desk = django_helpdesk_server.adapter(session=session)
    with pytest.raises(HelpdeskUnavailable):
        desk.open_ticket(new_ticket(f"{key}-t"))
    assert session.lost == 1

    found = desk.find_ticket(f"{key}-t")
    assert found is not None and [str(t["id"]) for t in with_key(django_helpdesk_agent, f"{key}-t")] == \
        [found.remote_ticket_id]
    assert desk.find_ticket(f"{key}-other") is None
    assert desk.find_message(found.remote_ticket_id, f"{key}-t-m1").remote_item_id == found.remote_item_id


def test_a_lost_upload_is_completed_on_retry(django_helpdesk_server, django_helpdesk_agent, key):
    session = LosingSession(posts_to("/api/followups-attachments/", nth=2))
    desk = django_helpdesk_server.adapter(session=session)
    files = tuple(FileToDeliver(f"part-{n}.pdf", "application/pdf", PDF + bytes([n])) for n in range(3))
    ticket = new_ticket(f"{key}-t", files=files)
    with pytest.raises(HelpdeskUnavailable):
        desk.open_ticket(ticket)
    assert session.lost == 1

    assert desk.find_ticket(ticket.key) is None          # there, but unfinished: open_ticket completes it
    delivered = desk.open_ticket(ticket)
    assert [str(t["id"]) for t in with_key(django_helpdesk_agent, ticket.key)] == [delivered.remote_ticket_id]
    (opening,) = django_helpdesk_agent.followups(delivered.remote_ticket_id)
    assert django_helpdesk_agent.files(opening) == {f"part-{n}.pdf": PDF + bytes([n]) for n in range(3)}
    assert desk.find_ticket(ticket.key) == delivered


def test_a_lost_followup_answer_is_found(django_helpdesk_server, django_helpdesk_agent, key):
    number = django_helpdesk_server.adapter().open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    session = LosingSession(posts_to("/api/followups/"))
    desk = django_helpdesk_server.adapter(session=session)
    with pytest.raises(HelpdeskUnavailable):
        desk.add_message(number, message(f"{key}-c2"))
    assert session.lost == 1

    found = desk.find_message(number, f"{key}-c2")
    assert found is not None and found.remote_ticket_id == number
    assert [str(item["id"]) for item in django_helpdesk_agent.followups(number)][-1] == found.remote_item_id
    assert desk.find_message(number, f"{key}-c9") is None


def test_wrong_password_or_token_is_credentials_refused(django_helpdesk_server):
    for desk in (django_helpdesk_server.adapter(password="not-the-password"),
                 django_helpdesk_server.adapter(user="", password="", token="not-a-token")):
        with pytest.raises(CredentialsRefused) as refused:
            desk.open_ticket(new_ticket("gmc-never-t1"))
        assert "403" in refused.value.reason and "not-the-password" not in refused.value.reason
        assert "staff user" in refused.value.reason
    if django_helpdesk_server.token:
        desk = django_helpdesk_server.adapter(user="", password="", token=django_helpdesk_server.token)
        assert desk.check(["1"]).problems == []


def test_check_names_what_is_wrong(desk):
    result = desk.check(["1", "99", "Support"])
    assert result.ok[0].startswith("django-helpdesk at http://127.0.0.1:")
    assert "queue 1: tickets can be opened" in result.ok
    assert [line.split(":")[0] for line in result.problems] == ["queue 99", "queue Support"]
    with pytest.raises(HelpdeskRefused, match="queue ids"):
        desk.open_ticket(new_ticket("gmc-never-t2", queue="Support"))


def test_webhook_call_with_the_path_secret_is_accepted(desk, django_helpdesk_server, django_helpdesk_agent, key):
    number = desk.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    written = django_helpdesk_agent.write(number, "We fixed it.")
    call = events().wait_for(lambda c: json.loads(c.body).get("followup_id") == written["id"])
    assert call is not None, "django-helpdesk made no webhook call for the agent's follow-up"

    assert desk.tickets_in_event(call) == [number]
    for wrong in ("not-the-secret", None):
        with pytest.raises(EventRefused):
            desk.tickets_in_event(WebhookCall(call.headers, call.body, wrong, call.received_at))
    with pytest.raises(EventRefused, match="not JSON"):
        desk.tickets_in_event(WebhookCall(call.headers, b"<html>", call.path_secret, call.received_at))
    with pytest.raises(EventRefused, match='"ticket"'):
        desk.tickets_in_event(WebhookCall(call.headers, b'{"ticket": {}}', call.path_secret, call.received_at))


def test_ticket_replies_are_the_agents_public_answers_only(desk, django_helpdesk_agent, key):
    number = desk.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    since = datetime.now(timezone.utc) + timedelta(hours=1)      # a clock ahead of django-helpdesk's
    desk.add_message(number, message(f"{key}-c2", text="Customer again"))
    desk.add_message(number, message(f"{key}-c3", public=False, text="Bounce"))
    django_helpdesk_agent.write(number, "Internal: check the invoice", public=False)
    answer = django_helpdesk_agent.write(number, "Here is the corrected invoice.",
                                         files=(("facture-corrigée.pdf", PDF, "application/pdf"),))
    django_helpdesk_agent.write(number, "", public=True, status=3)     # resolved without a word

    (reply,) = desk.ticket_replies(number, since)
    assert reply.key == f"followup-{answer['id']}" and reply.remote_ticket_id == number
    assert reply.ticket_key == f"{key}-t" and reply.body_text == "Here is the corrected invoice."
    assert [(f.filename, f.content_type, f.payload) for f in reply.attachments] == \
        [("facture-corrigée.pdf", "application/pdf", PDF)]


def test_django_helpdesk_mails_no_customer(desk, django_helpdesk_server, django_helpdesk_agent, key):
    before = django_helpdesk_server.mails()
    number = desk.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    desk.add_message(number, message(f"{key}-c2"))
    django_helpdesk_agent.write(number, "An agent's public answer.")
    django_helpdesk_agent.write(number, "Done.", status=3)
    desk.reopen(number, f"{key}-r")

    sent = [text for name, text in django_helpdesk_server.mails().items() if name not in before]
    assert not [mail for mail in sent if ZOE.email in mail or BOB.email in mail]
    assert sent == []


# Offline: django-helpdesk's answers simulated. Bodies: REST framework's error shapes
# (https://www.django-rest-framework.org/api-guide/exceptions/) as django-helpdesk's API returns them
# (https://django-helpdesk.readthedocs.io/en/latest/api.html, helpdesk/views/api.py).
OFFLINE = "http://help.example.test"


@pytest.fixture
def offline():
    desk = DjangoHelpdesk(OFFLINE + "/", user="gmail-connector", password="s3cret-pw", webhook_secret="hook-secret")
    with responses.RequestsMock() as mocked:
        yield desk, mocked
    desk.close()


def test_429_says_when_to_retry(offline):
    desk, mocked = offline
    # REST framework's throttling answer: {"detail": "Request was throttled. ..."} with Retry-After.
    mocked.post(f"{OFFLINE}/api/tickets/", status=429, headers={"Retry-After": "30"},
                json={"detail": "Request was throttled. Expected available in 30 seconds."})
    with pytest.raises(HelpdeskUnavailable) as waiting:
        desk.open_ticket(new_ticket("gmc-off-t1"))
    assert waiting.value.retry_after == 30.0 and "throttled" in waiting.value.reason


def test_5xx_html_page_is_unavailable_with_the_likely_cause(offline):
    desk, mocked = offline
    # Django's own 500 page (DEBUG off), as django-helpdesk answers when its webhook call raises.
    mocked.post(f"{OFFLINE}/api/followups/", status=500, content_type="text/html",
                body="<!doctype html>\n<html><head><title>Server Error (500)</title></head><body></body></html>")
    with pytest.raises(HelpdeskUnavailable) as waiting:
        desk.add_message("7", message("gmc-off-c2"))
    assert "Server Error (500)" in waiting.value.reason and "webhook URL" in waiting.value.reason
    assert "<" not in waiting.value.reason and waiting.value.retry_after is None


def test_validation_error_is_refused_with_the_fields(offline):
    desk, mocked = offline
    # TicketSerializer's field errors (helpdesk/serializers.py), e.g. for an address Django refuses.
    mocked.post(f"{OFFLINE}/api/tickets/", status=400, json={"submitter_email": ["Enter a valid email address."]})
    with pytest.raises(HelpdeskRefused, match="submitter_email: Enter a valid email address"):
        desk.open_ticket(new_ticket("gmc-off-t2"))


def test_403_for_a_user_who_is_not_staff_is_credentials_refused(offline):
    desk, mocked = offline
    # IsAdminUser's refusal (helpdesk/views/api.py: TicketViewSet.permission_classes).
    mocked.get(f"{OFFLINE}/api/tickets/7/", status=403,
               json={"detail": "You do not have permission to perform this action."})
    with pytest.raises(CredentialsRefused) as refused:
        desk.reopen("7", "gmc-off-r1")
    assert "DJANGO_HELPDESK_USER gmail-connector must be an active staff user" in refused.value.reason
    assert "s3cret-pw" not in refused.value.reason


def test_token_is_sent_as_rest_framework_token(closed_port):
    desk = DjangoHelpdesk(OFFLINE, token="tok-123", webhook_secret="hook-secret")
    with responses.RequestsMock() as mocked:
        # An empty first page: {"count": 0, "next": null, "previous": null, "results": []}.
        mocked.get(f"{OFFLINE}/api/tickets/", json={"count": 0, "next": None, "previous": None, "results": []},
                   match=[responses.matchers.header_matcher({"Authorization": "Token tok-123"})])
        assert desk.find_ticket("gmc-off-t3") is None
    unreachable = DjangoHelpdesk(f"http://127.0.0.1:{closed_port}", token="tok-123", webhook_secret="x")
    with pytest.raises(HelpdeskUnavailable, match="unreachable"):
        unreachable.find_ticket("gmc-off-t4")


def test_settings_that_cannot_work_are_refused_early():
    with pytest.raises(ValueError, match="DJANGO_HELPDESK_TOKEN"):
        DjangoHelpdesk(OFFLINE, webhook_secret="x")
    with pytest.raises(ValueError, match="must not hold credentials"):
        DjangoHelpdesk("http://user:pw@help.example.test", token="t", webhook_secret="x")
    call = WebhookCall({}, b'{"ticket": {"id": 7}, "queue_slug": "support"}', "anything", 0.0)
    with pytest.raises(EventRefused, match="HELPDESK_WEBHOOK_SECRET is empty"):
        DjangoHelpdesk(OFFLINE, token="t", webhook_secret="").tickets_in_event(call)
    assert DjangoHelpdesk(OFFLINE, token="t", webhook_secret="anything").tickets_in_event(call) == ["7"]
