"""FreeScout's signed webhook calls, and agents' public answers read back from the conversation (never notes,
drafts or what the connector itself wrote)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from connector.helpdesk.freescout import FreeScout
from connector.helpdesk.port import EventRefused, HelpdeskMessage, NewHelpdeskTicket, Person, WebhookCall
from tests.helpdesk.fakes.freescout_api import API_KEY, SECRET, URL
from tests.helpdesk.test_freescout import fake, freescout  # noqa: F401  (the same fake and adapter)

ZOE = Person("Zoë Müller", "zoe.muller@example.org")
BOB = Person("Bob Colleague", "bob.cc@example.org")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")


def opened(freescout: FreeScout, key: str = "gmc-3f2a9c-t42") -> str:
    first = HelpdeskMessage(key=f"{key}-m1", author=ZOE, body_text="Où est mon colis ?", body_html=None,
                            message_id="m1@mail.example", created_at=datetime(2026, 11, 30, tzinfo=timezone.utc),
                            cc=(BOB,))
    return freescout.open_ticket(NewHelpdeskTicket(key=key, our_ticket_id=42, subject="Colis", requester=ZOE,
                                                   queue="Support", first=first)).remote_ticket_id


def test_a_signed_call_names_its_conversation(fake, freescout):
    number = opened(freescout)
    fake.agent_reply(int(number), "<p>Réponse envoyée — ça arrive.</p>")
    call = fake.webhook_call(int(number))
    assert b"\\u00e9" in call.body and b"\\/" in call.body         # signed as PHP encoded it
    assert freescout.tickets_in_event(call) == [number]
    assert freescout.tickets_in_event(fake.webhook_call(int(number), "convo.note.created")) == [number]


def test_a_customer_event_names_no_conversation(fake, freescout):
    body = json.dumps({"id": 5, "firstName": "Zoë", "_embedded": {"emails": []}}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha1).digest()).decode()
    call = WebhookCall(headers={"x-freescout-event": "customer.created", "x-freescout-signature": signature},
                       body=body, path_secret=None, received_at=0.0)
    assert freescout.tickets_in_event(call) == []


@pytest.mark.parametrize("spoil, reason", [
    (lambda call, fake, n: fake.webhook_call(n, secret="another-secret"), "does not match"),
    (lambda call, fake, n: replace(call, headers={k: v for k, v in call.headers.items()
                                                  if k != "x-freescout-signature"}), "no X-FreeScout-Signature"),
    (lambda call, fake, n: replace(call, body=call.body.replace(b'"active"', b'"spam"', 1)), "does not match"),
])
def test_a_call_not_signed_with_the_secret_is_refused(fake, freescout, spoil, reason):
    number = int(opened(freescout))
    call = spoil(fake.webhook_call(number), fake, number)
    with pytest.raises(EventRefused, match=reason):
        freescout.tickets_in_event(call)


def test_without_a_secret_no_call_is_accepted(fake):
    adapter = FreeScout(URL, API_KEY, webhook_secret="")
    with pytest.raises(EventRefused, match="HELPDESK_WEBHOOK_SECRET is empty"):
        adapter.tickets_in_event(fake.webhook_call(int(opened(adapter)), secret=""))


def test_agents_public_answers_only_with_their_files_and_typed_cc(fake, freescout):
    number = opened(freescout)
    since = datetime.now(timezone.utc)
    fake.agent_note(int(number), "<p>Internal: the carrier lost it.</p>")
    fake.agent_reply(int(number), "<p>Brouillon</p>", state="draft")
    answer = fake.agent_reply(int(number), "<div>Bonjour Zoë,<br>un nouveau colis part aujourd'hui.</div>",
                              files=(("étiquette.png", "image/png", PNG),), cc=(BOB.email, "Chef@Shop.example"))
    freescout.add_message(number, replace(
        HelpdeskMessage(key="gmc-3f2a9c-c17", author=ZOE, body_text="Merci !", body_html=None, message_id="m2@x",
                        created_at=since), public=True))

    replies = freescout.ticket_replies(number, since)
    assert [r.key for r in replies] == [f"thread-{answer}"]
    reply = replies[0]
    assert reply.remote_ticket_id == number and reply.ticket_key == "gmc-3f2a9c-t42"
    assert reply.body_text == "Bonjour Zoë,\nun nouveau colis part aujourd'hui."
    assert reply.author == Person("Ulla Agent", "ulla@shop.example")
    assert [(f.filename, f.content_type, f.payload) for f in reply.attachments] == [("étiquette.png", "image/png",
                                                                                     PNG)]
    assert [p.email for p in reply.cc] == ["chef@shop.example"]      # Bob was on the customer's own Cc


def test_answers_written_well_before_since_are_left_out(fake, freescout):
    number = opened(freescout)
    fake.agent_reply(int(number), "<p>Old answer</p>")
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert freescout.ticket_replies(number, later) == []
    naive_now = datetime.now(timezone.utc).replace(tzinfo=None)       # the store keeps naive UTC
    assert [r.body_text for r in freescout.ticket_replies(number, naive_now)] == ["Old answer"]


def test_a_conversation_the_connector_did_not_open_has_no_ticket_key(fake, freescout):
    number = opened(freescout)
    fake.conversations[int(number)]["threads"][0]["body"] = "<p>typed by an agent</p>"
    fake.agent_reply(int(number), "<p>Answer</p>")
    replies = freescout.ticket_replies(number, datetime.now(timezone.utc))
    assert [(r.body_text, r.ticket_key) for r in replies] == [("Answer", None)]
