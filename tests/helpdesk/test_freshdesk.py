"""Freshdesk as the destination: what a stateful Freshdesk (tests/helpdesk/fakes/freshdesk_api.py) ends up holding."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import responses

from connector.helpdesk.freshdesk import Freshdesk
from connector.helpdesk.port import (CredentialsRefused, FileToDeliver, HelpdeskMessage, HelpdeskRefused,
                                     HelpdeskUnavailable, NewHelpdeskTicket, Person)
from tests.helpdesk.fakes.freshdesk_api import KEY, URL, FreshdeskFake

SECRET = "whsec-fd-7c1e-do-not-leak"
ANN = Person("Ann Customer", "ann@example.com")
BOB = Person("Bob Colleague", "bob@example.com")
SENT = datetime(2024, 5, 1, 11, 0, 5, tzinfo=timezone.utc)
PDF = b"%PDF-1.7\x00\x01\xff binary \r\n"


def message(key: str, text: str = "My order never arrived.", *, author: Person = ANN, public: bool = True,
            files: tuple[FileToDeliver, ...] = ()) -> HelpdeskMessage:
    return HelpdeskMessage(key=key, author=author, body_text=text, body_html=None, message_id=f"{key}@mail.example",
                           created_at=SENT, public=public, attachments=files, our_ticket_id=42)


def new_ticket(key: str = "gmc-3f2a9c-t42", queue: str = "Support", **kwargs) -> NewHelpdeskTicket:
    first = message("gmc-3f2a9c-c17", **kwargs)
    return NewHelpdeskTicket(key=key, our_ticket_id=42, subject="Where is my order?", requester=ANN, queue=queue,
                             first=first, cc=(BOB,))


@pytest.fixture
def fake():
    fake = FreshdeskFake()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake
    assert fake.mailed == [], "Freshdesk itself mailed a customer"


@pytest.fixture
def desk(fake):
    desk = Freshdesk(URL, KEY, webhook_secret=SECRET)
    yield desk
    desk.close()


def test_a_ticket_arrives_with_its_requester_group_key_and_files(fake, desk):
    files = (FileToDeliver("invoice é.pdf", "application/pdf", PDF), FileToDeliver("empty.txt", "text/plain", b""))
    delivered = desk.open_ticket(new_ticket(files=files))
    ticket = fake.tickets[int(delivered.remote_ticket_id)]
    assert fake.contact_email(ticket["requester_id"]) == "ann@example.com"
    assert (ticket["subject"], ticket["group_id"], ticket["status"], ticket["tags"]) == \
        ("Where is my order?", fake.support, 2, ["gmc-3f2a9c-t42"])
    assert "My order never arrived." in ticket["description_text"]
    assert "bob@example.com" in ticket["description_text"] and "empty.txt (empty)" in ticket["description_text"]
    assert "gmail-connector key: gmc-3f2a9c-t42 gmc-3f2a9c-c17" in ticket["description_text"]
    assert [(a["name"], fake.attachment_bytes(a)) for a in ticket["attachments"]] == [("invoice é.pdf", PDF)]
    assert ticket["cc_emails"] == []            # Freshdesk would send its CC notification
    assert delivered.url == f"{URL}/a/tickets/{ticket['id']}"


def test_a_queue_is_a_group_name_in_any_case_or_its_id(fake, desk):
    billing = fake.add_group("Billing")
    first = desk.open_ticket(new_ticket(queue="billing"))
    second = desk.open_ticket(new_ticket(key="gmc-3f2a9c-t43", queue=str(billing)))
    assert [fake.tickets[int(d.remote_ticket_id)]["group_id"] for d in (first, second)] == [billing, billing]
    with pytest.raises(HelpdeskRefused, match="group 'Nowhere' does not exist"):
        desk.open_ticket(new_ticket(key="gmc-3f2a9c-t44", queue="Nowhere"))


def test_an_agent_who_is_no_admin_finds_groups_in_the_ticket_fields():
    fake = FreshdeskFake(admin=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        desk = Freshdesk(URL, KEY, webhook_secret=SECRET)
        delivered = desk.open_ticket(new_ticket())
    assert fake.tickets[int(delivered.remote_ticket_id)]["group_id"] == fake.support


def test_a_follow_up_is_a_public_incoming_note_credited_to_its_author(fake, desk):
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    desk.add_message(remote, message("gmc-3f2a9c-c18", "Any news?", files=(FileToDeliver("a.bin", "x/y", PDF),)))
    delivered = desk.add_message(remote, message("gmc-3f2a9c-c19", "Same here.", author=BOB))
    ann_note, bob_note = fake.ticket_conversations(int(remote))
    for note, who in ((ann_note, "ann@example.com"), (bob_note, "bob@example.com")):
        assert (note["private"], note["incoming"], note["source"]) == (False, True, 2)
        assert fake.contact_email(note["user_id"]) == who
    assert "Any news?" in ann_note["body_text"] and fake.attachment_bytes(ann_note["attachments"][0]) == PDF
    assert delivered.remote_item_id == str(bob_note["id"])


def test_mail_from_an_agent_address_is_written_by_the_connector_agent(fake, desk):
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    fake.add_agent("Carol Agent", "carol@example.com")
    desk.add_message(remote, message("gmc-3f2a9c-c18", "Forwarding this.", author=Person("Carol", "carol@example.com")))
    note = fake.ticket_conversations(int(remote))[0]
    assert note["user_id"] == fake.me and "carol@example.com" in note["body_text"]


def test_an_auto_reply_is_a_private_note(fake, desk):
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    desk.add_message(remote, message("gmc-3f2a9c-c18", "I am out of office.", public=False))
    note = fake.ticket_conversations(int(remote))[0]
    assert (note["private"], note["incoming"], note["user_id"]) == (True, False, fake.me)


def test_reopen_opens_a_resolved_ticket_and_leaves_an_open_one(fake, desk):
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    desk.reopen(remote, "gmc-3f2a9c-e5")
    assert fake.tickets[int(remote)]["status"] == 2
    fake.solve(int(remote), status=5)
    desk.reopen(remote, "gmc-3f2a9c-e6")
    assert fake.tickets[int(remote)]["status"] == 2
    fake.solve(int(remote))
    blank = {"field": "cf_reason", "message": "It should not be blank as this is a mandatory field",
             "code": "invalid_value"}
    fake.fail("PUT", rf"/api/v2/tickets/{remote}", 400, {"description": "Validation failed", "errors": [blank]})
    with pytest.raises(HelpdeskRefused, match="cf_reason: It should not be blank"):
        desk.reopen(remote, "gmc-3f2a9c-e7")


@pytest.mark.parametrize("list_tags", [False, True])
def test_a_ticket_whose_answer_was_lost_is_found_and_not_made_twice(list_tags):
    fake = FreshdeskFake(list_tags=list_tags)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        desk = Freshdesk(URL, KEY, webhook_secret=SECRET)
        fake.lose_answer("POST", "/api/v2/tickets")
        with pytest.raises(HelpdeskUnavailable):
            desk.open_ticket(new_ticket())
        found = desk.find_ticket("gmc-3f2a9c-t42")     # the search index has not caught up yet
        assert desk.find_ticket("gmc-3f2a9c-t4") is None and desk.find_ticket("gmc-3f2a9c-t421") is None
    assert list(fake.tickets) == [int(found.remote_ticket_id)]


def test_an_older_ticket_past_the_newest_page_is_found_by_the_search(fake, desk):
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    for number in range(100):
        fake.portal_ticket(f"someone{number}@example.org", f"Question {number}")
    assert desk.find_ticket("gmc-3f2a9c-t42") is None      # not on the newest page, not indexed yet
    fake.index()
    assert desk.find_ticket("gmc-3f2a9c-t42").remote_ticket_id == remote


def test_a_request_that_never_arrived_finds_nothing(fake, desk):
    fake.fail("POST", "/api/v2/tickets", 503, {"message": "maintenance"})
    with pytest.raises(HelpdeskUnavailable):
        desk.open_ticket(new_ticket())
    assert desk.find_ticket("gmc-3f2a9c-t42") is None and fake.tickets == {}


def test_a_note_whose_answer_was_lost_is_found_by_its_key(fake, desk):
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    desk.add_message(remote, message("gmc-3f2a9c-c1", "First."))
    fake.lose_answer("POST", rf"/api/v2/tickets/{remote}/notes")
    with pytest.raises(HelpdeskUnavailable):
        desk.add_message(remote, message("gmc-3f2a9c-c18", "Lost answer."))
    found = desk.find_message(remote, "gmc-3f2a9c-c18")
    assert found.remote_item_id == str(fake.ticket_conversations(int(remote))[1]["id"])
    assert desk.find_message(remote, "gmc-3f2a9c-c17").remote_item_id is None     # the description
    assert desk.find_message(remote, "gmc-3f2a9c-c19") is None and len(fake.ticket_conversations(int(remote))) == 2


def test_a_wrong_api_key_is_refused_credentials_without_the_key():
    fake = FreshdeskFake()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        desk = Freshdesk(URL, "not-the-key", webhook_secret=SECRET)
        with pytest.raises(CredentialsRefused) as refused:
            desk.open_ticket(new_ticket())
    assert "FRESHDESK_API_KEY" in refused.value.reason and "not-the-key" not in refused.value.reason


def test_a_validation_error_is_refused_with_freshdesks_words(fake, desk):
    bad = NewHelpdeskTicket(key="gmc-3f2a9c-t42", our_ticket_id=42, subject="Hi", requester=Person("X", "not-mail"),
                            queue="Support", first=message("gmc-3f2a9c-c17"))
    with pytest.raises(HelpdeskRefused, match="Validation failed; email: It should be a valid email address"):
        desk.open_ticket(bad)


def test_rate_limit_and_server_errors_are_unavailable_with_retry_after(fake, desk):
    fake.fail("POST", "/api/v2/tickets", 429, "", {"Retry-After": "34"})
    with pytest.raises(HelpdeskUnavailable) as limited:
        desk.open_ticket(new_ticket())
    assert limited.value.retry_after == 34
    fake.fail("POST", "/api/v2/tickets", 500, {"message": "Phew!"})
    with pytest.raises(HelpdeskUnavailable, match="500"):
        desk.open_ticket(new_ticket())
    assert fake.tickets == {}


def test_a_key_that_cannot_be_a_tag_is_refused(fake, desk):
    with pytest.raises(HelpdeskRefused, match="cannot be a Freshdesk tag"):
        desk.open_ticket(new_ticket(key="gmc-'; drop"))


def test_a_created_answer_without_its_id_is_unavailable_for_the_lookup_to_settle(fake, desk):
    fake.fail("POST", "/api/v2/tickets", 201, "")
    with pytest.raises(HelpdeskUnavailable, match="without the id"):
        desk.open_ticket(new_ticket())
    remote = desk.open_ticket(new_ticket()).remote_ticket_id
    fake.fail("POST", rf"/api/v2/tickets/{remote}/notes", 201, {"body": "<div>made</div>"})
    with pytest.raises(HelpdeskUnavailable, match="without the id"):
        desk.add_message(remote, message("gmc-3f2a9c-c18"))
