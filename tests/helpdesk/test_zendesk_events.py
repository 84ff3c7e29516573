"""Agents' answers in Zendesk: the trigger's signed webhook call is checked, then the answers are read back."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
import responses

from connector.helpdesk.port import EventRefused, FileToDeliver, WebhookCall
from connector.helpdesk.zendesk import Zendesk
from connector.helpdesk.zendesk_api import ZendeskApi
from tests.helpdesk.fakes.zendesk_api import EMAIL, TOKEN, URL, ZendeskFake
from tests.helpdesk.test_zendesk import BOB, SECRET, fake, message, new_ticket, zendesk  # noqa: F401 (fixtures)

LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)


def opened(fake: ZendeskFake, zendesk: Zendesk) -> int:
    return int(zendesk.open_ticket(new_ticket()).remote_ticket_id)


def test_a_signed_call_names_its_ticket(fake, zendesk):
    assert zendesk.tickets_in_event(fake.webhook_call(4711, SECRET)) == ["4711"]


def test_a_ticket_event_subscription_is_read_too(fake, zendesk):
    body = json.dumps({"type": "zen:event-type:ticket.comment_added", "subject": "zen:ticket:35436",
                       "detail": {"id": "35436", "status": "OPEN"}, "event": {}}).encode()
    assert zendesk.tickets_in_event(fake.webhook_call(0, SECRET, body=body)) == ["35436"]


def _without(call: WebhookCall, word: str) -> WebhookCall:
    return WebhookCall({k: v for k, v in call.headers.items() if not k.endswith(word)}, call.body, None,
                       call.received_at)


@pytest.mark.parametrize("secret, spoil, reason", [
    ("someone-elses-secret", lambda call: call, "does not match"),
    (SECRET, lambda call: _without(call, "signature"), "no X-Zendesk-Webhook-Signature header"),
    (SECRET, lambda call: _without(call, "timestamp"), "no X-Zendesk-Webhook-Signature-Timestamp"),
    (SECRET, lambda call: WebhookCall(call.headers, call.body.replace(b"4711", b"4712"), None, call.received_at),
     "does not match")], ids=["wrong secret", "no signature", "no timestamp", "body changed"])
def test_a_call_not_signed_by_zendesk_is_refused(fake, zendesk, secret, spoil, reason):
    with pytest.raises(EventRefused, match=reason) as refused:
        zendesk.tickets_in_event(spoil(fake.webhook_call(4711, secret)))
    assert SECRET not in refused.value.reason


def test_a_replayed_call_is_refused_by_its_timestamp(fake, zendesk):
    old = fake.webhook_call(4711, SECRET, at=time.time() - 3600)
    with pytest.raises(EventRefused, match="more than 300 s"):
        zendesk.tickets_in_event(WebhookCall(old.headers, old.body, None, time.time()))


@pytest.mark.parametrize("body", [b'{"ticket_id": "{{ticket.id}}"}', b"[]", b"not json"])
def test_a_signed_call_without_a_ticket_is_refused(fake, zendesk, body):
    with pytest.raises(EventRefused, match="ticket|JSON"):
        zendesk.tickets_in_event(fake.webhook_call(0, SECRET, body=body))


def test_without_a_webhook_secret_no_call_is_accepted(fake):
    adapter = Zendesk(URL, EMAIL, TOKEN, webhook_secret="")
    with pytest.raises(EventRefused, match="HELPDESK_WEBHOOK_SECRET is empty"):
        adapter.tickets_in_event(fake.webhook_call(4711, ""))


def test_replies_are_agents_public_answers_only(fake, zendesk):
    number = opened(fake, zendesk)
    agent = fake.add_user("Sam Agent", "Sam@Support.example", "agent")
    zendesk.add_message(str(number), message("gmc-3f2a9c-c2", text="Customer again"))
    zendesk.add_message(str(number), message("gmc-3f2a9c-c3", text="Bounce", public=False))
    fake.agent_comment(number, agent, html="<p>Hello <b>Ann</b>,</p><p>fixed.</p>",
                       files=(("fix.pdf", b"%PDF fixed", "application/pdf"),))
    fake.agent_comment(number, agent, "Internal: refund approved", public=False)
    fake.agent_comment(number, fake.me, "Written with the connector's own token")
    fake.agent_comment(number, fake.add_user("Walk In", "walk@example.org"), "An end user on the web form")
    [reply] = zendesk.ticket_replies(str(number), LONG_AGO)
    assert reply.body_text.split() == ["Hello", "Ann,", "fixed."]
    assert (reply.author.name, reply.author.email) == ("Sam Agent", "sam@support.example")
    assert reply.key == f"comment-{fake.ticket_comments(number)[3]['id']}" and reply.remote_ticket_id == str(number)
    assert reply.ticket_key == "gmc-3f2a9c-t42"
    assert reply.attachments == (FileToDeliver("fix.pdf", "application/pdf", b"%PDF fixed"),)
    assert fake.file_fetches and all("Authorization" not in headers for headers in fake.file_fetches)


def test_replies_skip_what_the_connector_posted_for_a_customer_who_is_an_agent(fake, zendesk):
    fake.add_user("Bob Colleague", BOB.email, "agent")
    number = opened(fake, zendesk)
    zendesk.add_message(str(number), message("gmc-3f2a9c-c2", text="Bob writes from Gmail", author=BOB))
    assert zendesk.ticket_replies(str(number), LONG_AGO) == []


def test_replies_count_from_the_ticket_even_when_our_clock_runs_ahead_of_zendesks(fake, zendesk):
    number = opened(fake, zendesk)
    agent = fake.add_user("Sam Agent", "sam@support.example", "agent")
    first = fake.agent_comment(number, agent, "First answer")
    fake.advance(3600)
    second = fake.agent_comment(number, agent, "Second answer")
    ahead = datetime.now(timezone.utc) + timedelta(days=1)
    assert [r.key for r in zendesk.ticket_replies(str(number), ahead)] == [f"comment-{first}", f"comment-{second}"]
    assert [r.key for r in zendesk.ticket_replies(str(number), LONG_AGO.replace(tzinfo=None))] == [
        f"comment-{first}", f"comment-{second}"]


def test_replies_page_through_long_conversations(fake, zendesk):
    number = opened(fake, zendesk)
    agent = fake.add_user("Sam Agent", "sam@support.example", "agent")
    for n in range(130):
        fake.agent_comment(number, agent, f"answer {n}")
    replies = zendesk.ticket_replies(str(number), LONG_AGO)
    assert len(replies) == 130 and replies[-1].body_text == "answer 129"


def test_a_deleted_ticket_has_no_replies(fake, zendesk):
    assert zendesk.ticket_replies("999999", datetime.now(timezone.utc)) == []


def test_attachment_downloads_carry_credentials_only_to_zendesks_own_https_address():
    sent: dict[str, bool] = {}

    def record(request):
        sent[request.url.partition(":")[0]] = "Authorization" in request.headers
        return 200, {}, b"file"

    api = ZendeskApi(URL, EMAIL, TOKEN)
    with responses.RequestsMock() as mock:
        mock.add_callback("GET", re.compile(r"https?://example\.zendesk\.com/attachments/.*"), callback=record)
        assert api.download(f"{URL}/attachments/token/t1/?name=a.pdf") == b"file"
        assert api.download(URL.replace("https:", "http:") + "/attachments/token/t1/?name=a.pdf") == b"file"
    assert sent == {"https": True, "http": False}
