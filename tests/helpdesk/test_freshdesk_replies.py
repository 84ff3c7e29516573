"""Agents' answers in Freshdesk: the automation rule's call to /helpdesk/events/SECRET, the answers read back,
and `helpdesk check`."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import responses

from connector.helpdesk.freshdesk import Freshdesk
from connector.helpdesk.port import EventRefused, FileToDeliver, Person
from tests.helpdesk.fakes.freshdesk_api import KEY, START, URL, FreshdeskFake
from tests.helpdesk.test_freshdesk import PDF, SECRET, desk, fake, message, new_ticket  # noqa: F401 (fixtures)

EARLIER = START - timedelta(days=1)


@pytest.fixture
def opened(fake, desk):
    """A ticket the connector opened, with a customer follow-up and an auto-reply the connector posted."""
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    desk.add_message(remote, message("gmc-3f2a9c-c18", "Any news?"))
    desk.add_message(remote, message("gmc-3f2a9c-c19", "Out of office.", public=False))
    return int(remote)


def test_the_rules_call_with_the_secret_in_the_url_names_its_ticket(fake, desk):
    assert desk.tickets_in_event(fake.webhook_call(812, SECRET)) == ["812"]
    nested = json.dumps({"freshdesk_webhook": {"ticket_id": 813}}).encode()     # "simple" webhook content
    assert desk.tickets_in_event(fake.webhook_call(0, SECRET, body=nested)) == ["813"]


@pytest.mark.parametrize("secret, body, reason", [
    ("not-the-secret", None, "not HELPDESK_WEBHOOK_SECRET"),
    (None, None, "must end in /helpdesk/events/HELPDESK_WEBHOOK_SECRET"),
    (SECRET, b"ticket=812", "not JSON"),
    (SECRET, b'{"ticket_id": "{{ticket.id}}"}', "names no ticket"),
    (SECRET, b'{"ticket_id": true}', "names no ticket"),
])
def test_a_call_without_the_secret_or_a_ticket_is_refused(fake, desk, secret, body, reason):
    with pytest.raises(EventRefused, match=reason):
        desk.tickets_in_event(fake.webhook_call(812, secret, body=body))


def test_no_call_is_accepted_while_the_secret_is_empty(fake):
    open_desk = Freshdesk(URL, KEY, webhook_secret="")
    with pytest.raises(EventRefused, match="HELPDESK_WEBHOOK_SECRET is empty"):
        open_desk.tickets_in_event(fake.webhook_call(812, ""))


def test_an_agents_public_note_is_an_answer_with_its_files(fake, desk, opened):
    carol = fake.add_agent("Carol Agent", "Carol@Example.com")
    note = fake.agent_note(opened, carol, "<p>Shipped today.<br>Tracking: <b>XY12</b></p>",
                           files=(("label é.pdf", PDF, "application/pdf"),))
    [reply] = desk.ticket_replies(str(opened), EARLIER)
    assert (reply.key, reply.remote_ticket_id, reply.ticket_key) == (f"conversation-{note['id']}", str(opened),
                                                                      "gmc-3f2a9c-t42")
    assert reply.body_text == "Shipped today.\nTracking: XY12"
    assert reply.author == Person("Carol Agent", "carol@example.com")
    assert reply.attachments == (FileToDeliver("label é.pdf", "application/pdf", PDF),)
    assert reply.created_at == datetime.fromisoformat(note["created_at"].replace("Z", "+00:00"))
    assert fake.file_fetches and all("Authorization" not in h for h in fake.file_fetches)


def test_notes_replies_and_the_connectors_own_posts_are_no_answers(fake, desk, opened):
    carol = fake.add_agent("Carol Agent", "carol@example.com")
    fake.agent_note(opened, carol, "Internal: check the warehouse.", private=True)
    fake.agent_reply(opened, carol, "Sent by Freshdesk itself.")
    fake.agent_note(opened, fake.me, "Written by the connector's agent.")
    assert desk.ticket_replies(str(opened), EARLIER) == []
    fake.mailed.clear()                     # the Reply above was the agent's doing, not the connector's


def test_answers_are_read_oldest_first_however_far_ahead_this_clock_is(fake, desk, opened):
    carol = fake.add_agent("Carol Agent", "carol@example.com")
    first = fake.agent_note(opened, carol, "One.")
    second = fake.agent_note(opened, carol, "Two.")
    ahead = datetime.now(timezone.utc) + timedelta(hours=2)     # `since` is our clock, not Freshdesk's
    for since in (EARLIER, ahead, ahead.replace(tzinfo=None)):
        assert [r.key for r in desk.ticket_replies(str(opened), since)] == [f"conversation-{first['id']}",
                                                                           f"conversation-{second['id']}"]


def test_a_ticket_the_connector_did_not_open_has_no_answers_for_it(fake, desk):
    other = fake.portal_ticket("dave@example.org", "Phone call")
    fake.agent_note(other, fake.add_agent("Carol Agent", "carol@example.com"), "Called back.")
    assert desk.ticket_replies(str(other), EARLIER) == [] and desk.ticket_replies("999999", EARLIER) == []


def test_without_admin_rights_an_answers_author_is_named_by_id():
    fake = FreshdeskFake(admin=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        desk = Freshdesk(URL, KEY, webhook_secret=SECRET)
        remote = int(desk.open_ticket(new_ticket()).remote_ticket_id)
        carol = fake.add_agent("Carol Agent", "carol@example.com")
        fake.agent_note(remote, carol, "Shipped.")
        [reply] = desk.ticket_replies(str(remote), EARLIER)
    assert reply.author == Person(f"Freshdesk agent {carol}", "")


def test_check_names_the_agent_and_each_queues_group(fake, desk):
    result = desk.check(["Support", str(fake.support), "Nowhere"])
    assert result.ok[0] == f"Freshdesk at {URL} accepts the API key of Connector Bot <connector@example.com> " \
                           f"(agent #{fake.me})"
    assert f"queue Support: group #{fake.support}" in result.ok
    assert result.problems == ["queue Nowhere: no such group in Freshdesk (Admin > Team > Groups; a name or its id)"]


def test_check_finds_a_scope_too_narrow_for_the_connectors_tickets(fake, desk):
    fake.agents[fake.me]["ticket_scope"] = 2
    assert any("not in group" in p for p in desk.check(["Support"]).problems)
    fake.agents[fake.me]["group_ids"] = [fake.support]
    assert Freshdesk(URL, KEY, webhook_secret=SECRET).check(["Support"]).problems == []
    fake.agents[fake.me]["ticket_scope"] = 3
    assert any("Restricted Access" in p for p in Freshdesk(URL, KEY, webhook_secret=SECRET).check([]).problems)


def test_check_reports_a_refused_key_and_an_empty_secret(fake):
    refused = Freshdesk(URL, "wrong", webhook_secret=SECRET).check(["Support"])
    assert refused.ok == [] and "refused the credentials" in refused.problems[0]
    problems = Freshdesk(URL, KEY, webhook_secret="").check([]).problems
    assert any("HELPDESK_WEBHOOK_SECRET is empty" in p for p in problems)
