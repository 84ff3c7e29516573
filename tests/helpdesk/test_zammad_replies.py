"""Agents' answers in Zammad: the trigger's signed webhook call, the answers read back, and `helpdesk check`."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from connector.helpdesk.port import EventRefused, Person, WebhookCall
from connector.helpdesk.zammad import Zammad
from tests.helpdesk.fakes.zammad_api import SECRET, START, TOKEN, URL
from tests.helpdesk.test_zammad import fake, message, new_ticket, zammad  # noqa: F401 (fixtures)

BEFORE = datetime(2000, 1, 1, tzinfo=timezone.utc)


def test_a_signed_call_names_its_ticket(fake, zammad):
    remote = zammad.open_ticket(new_ticket()).remote_ticket_id
    answer = fake.agent_answer(int(remote), "Voici la bonne facture.")
    call = fake.webhook_call(int(remote), answer)
    assert call.headers["x-hub-signature"].startswith("sha1=") and len(call.headers["x-hub-signature"]) == 45
    assert zammad.tickets_in_event(call) == [remote]


@pytest.mark.parametrize("tamper, reason", [
    (lambda c, f: f.webhook_call(1, secret="not-the-secret"), "X-Hub-Signature does not match the body"),
    (lambda c, f: f.webhook_call(1, secret=""), "the call has no X-Hub-Signature header"),
    (lambda c, f: replace(c, body=c.body.replace(b'"id": 1,', b'"id": 2,')), "does not match the body"),
    (lambda c, f: replace(c, headers={**c.headers, "x-hub-signature": "sha256=" + "0" * 40}),
     "X-Hub-Signature does not start with 'sha1='"),
])
def test_a_call_that_is_not_zammads_is_refused(fake, zammad, tamper, reason):
    zammad.open_ticket(new_ticket())
    with pytest.raises(EventRefused) as refused:
        zammad.tickets_in_event(tamper(fake.webhook_call(1), fake))
    assert reason in refused.value.reason and SECRET not in refused.value.reason


def test_a_signed_body_that_names_no_ticket_and_an_empty_secret_are_refused(fake):
    body = json.dumps({"ticket": {"title": "no id"}}).encode()
    signed = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    call = WebhookCall({"x-hub-signature": signed}, body, None, 0.0)
    with pytest.raises(EventRefused, match=r"names no ticket \(ticket.id\)"):
        Zammad(URL, TOKEN, webhook_secret=SECRET).tickets_in_event(call)
    with pytest.raises(EventRefused, match="HELPDESK_WEBHOOK_SECRET is empty"):
        Zammad(URL, TOKEN, webhook_secret="").tickets_in_event(call)


def test_replies_are_agents_public_answers_only_never_notes_nor_our_own_posts(fake, zammad):
    remote = zammad.open_ticket(new_ticket()).remote_ticket_id
    ticket = int(remote)
    zammad.add_message(remote, message("gmc-3f2a9c-c18"))                       # ours: customer mail
    zammad.add_message(remote, message("gmc-3f2a9c-c19", public=False))         # ours: a note
    fake.agent_answer(ticket, "Internal: check the invoice run", public=False)  # an agent's note
    fake._add_article(fake.tickets[ticket], {"type": "email", "sender": "System", "body": "auto"}, 1)
    answer = fake.agent_answer(ticket, "Voici la bonne facture &amp; merci.", kind="email",
                               files=(("facture-7.pdf", "application/pdf", b"%PDF-7\x00\xff"),),
                               cc="Léa Martin <LEA@example.org>, bob.cc@example.org")

    [reply] = zammad.ticket_replies(remote, BEFORE)
    assert (reply.key, reply.remote_ticket_id, reply.ticket_key) == (f"article-{answer['id']}", remote,
                                                                      "gmc-3f2a9c-t42")
    assert reply.author == Person("Emma Taylor", "emma@chrispresso.com")
    assert reply.body_text == "Voici la bonne facture & merci."
    assert [(f.filename, f.content_type, f.payload) for f in reply.attachments] == [
        ("facture-7.pdf", "application/pdf", b"%PDF-7\x00\xff")]
    assert reply.cc == (Person("Léa Martin", "lea@example.org"), Person("", "bob.cc@example.org"))
    assert reply.created_at > START


def test_replies_survive_clock_skew_and_none_come_from_a_ticket_the_connector_did_not_open(fake, zammad):
    remote = zammad.open_ticket(new_ticket()).remote_ticket_id
    answer = fake.agent_answer(int(remote), "first")
    # This machine linked the ticket an hour "after" Zammad's clock says the agent answered.
    linked = datetime.fromisoformat(answer["created_at"].replace("Z", "+00:00")) + timedelta(hours=1)
    assert [r.key for r in zammad.ticket_replies(remote, linked)] == [f"article-{answer['id']}"]
    assert [r.key for r in zammad.ticket_replies(remote, linked.replace(tzinfo=None))] == [f"article-{answer['id']}"]

    fake._create_ticket({}, {"title": "by phone", "group": "Support", "customer_id": "guess:x@example.org",
                             "article": {"body": "hello", "type": "phone", "sender": "Customer"}})
    fake.agent_answer(2, "an answer Zammad's own channels handle")
    assert zammad.ticket_replies("2", BEFORE) == []


def test_check_names_each_group_it_may_use_and_each_it_may_not(fake, zammad):
    result = zammad.check(["Support", "Billing", "Sales", "Nowhere", "Support"])
    assert result.destination == f"zammad {URL}"
    assert result.ok == ["Zammad at https://zammad.example.test accepts ZAMMAD_TOKEN (user connector@example.test)",
                         "group Support: connector@example.test may create tickets, add articles and read them",
                         "group Billing: connector@example.test may create tickets, add articles and read them"]
    assert len(result.problems) == 2
    assert result.problems[0].startswith("group Sales: connector@example.test lacks change, create access")
    assert result.problems[1].startswith("group Nowhere: connector@example.test lacks change, create, read access")

    refused = Zammad(URL, "wrong", webhook_secret=SECRET).check(["Support"])
    assert refused.ok == [] and refused.problems == [
        "Zammad refused the credentials of ZAMMAD_TOKEN's user (401): authentication failed"]
    assert all("\n" not in line for line in result.ok + result.problems)
