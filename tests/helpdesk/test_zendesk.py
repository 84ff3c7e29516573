"""The Zendesk adapter against a stateful fake of Zendesk: what Zendesk ends up holding after each port call."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import pytest
import responses

from connector.helpdesk.port import (CredentialsRefused, FileToDeliver, HelpdeskMessage, HelpdeskRefused,
                                     HelpdeskUnavailable, NewHelpdeskTicket, Person)
from connector.helpdesk.zendesk import Zendesk
from tests.helpdesk.fakes.zendesk_api import EMAIL, TOKEN, URL, ZendeskFake

SECRET = "zd-signing-secret-do-not-leak"
ANN = Person("Ann Customer", "ann@example.com")
BOB = Person("Bob Colleague", "bob@example.com")
SENT = datetime(2024, 5, 1, 12, 0, 5, tzinfo=timezone.utc)
PDF = FileToDeliver("Facture n°12 — mai.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff binary")
PNG = FileToDeliver("screen.png", "image/png", b"\x89PNG\r\n\x1a\n", inline=True, content_id="img1")


def message(key: str = "gmc-3f2a9c-c1", *, text: str = "My invoice is wrong.", public: bool = True,
            author: Person = ANN, html: str | None = None, files: tuple = (), cc: tuple = ()) -> HelpdeskMessage:
    return HelpdeskMessage(key=key, author=author, body_text=text, body_html=html, message_id=f"{key}@mail.example",
                           created_at=SENT, public=public, cc=cc, attachments=files, our_ticket_id=42)


def new_ticket(key: str = "gmc-3f2a9c-t42", queue: str = "Support", first: HelpdeskMessage | None = None,
               requester: Person = ANN) -> NewHelpdeskTicket:
    return NewHelpdeskTicket(key=key, our_ticket_id=42, subject="Invoice 12", requester=requester, queue=queue,
                             first=first or message())


@pytest.fixture
def fake() -> Iterator[ZendeskFake]:
    zendesk = ZendeskFake()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        zendesk.install(mock)
        yield zendesk


@pytest.fixture
def zendesk(fake: ZendeskFake) -> Iterator[Zendesk]:
    adapter = Zendesk(URL, EMAIL, TOKEN, webhook_secret=SECRET)
    yield adapter
    adapter.close()


def user_email(fake: ZendeskFake, uid: int) -> str:
    return fake.users[uid]["email"]


def test_a_ticket_opens_with_its_requester_group_key_and_files(fake, zendesk):
    made = zendesk.open_ticket(new_ticket(first=message(files=(PDF, PNG))))
    ticket = fake.tickets[int(made.remote_ticket_id)]
    assert (ticket["external_id"], ticket["group_id"], ticket["subject"]) == ("gmc-3f2a9c-t42", fake.support,
                                                                              "Invoice 12")
    assert user_email(fake, ticket["requester_id"]) == "ann@example.com" and "gmail_connector" in ticket["tags"]
    [first] = fake.ticket_comments(ticket["id"])
    assert first["public"] and user_email(fake, first["author_id"]) == "ann@example.com"
    assert first["body"] == "My invoice is wrong."
    assert {a["file_name"]: fake.files[a["id"]] for a in first["attachments"]} == {PDF.filename: PDF.payload,
                                                                                     PNG.filename: PNG.payload}
    assert made.url == f"{URL}/agent/tickets/{ticket['id']}" and made.remote_item_id == str(first["id"])


def test_a_queue_may_name_the_group_by_id_and_an_unknown_group_opens_nothing(fake, zendesk):
    billing = fake.add_group("Billing")
    made = zendesk.open_ticket(new_ticket(queue=str(billing)))
    assert fake.tickets[int(made.remote_ticket_id)]["group_id"] == billing
    with pytest.raises(HelpdeskRefused, match="no group 'Sales'"):
        zendesk.open_ticket(new_ticket("gmc-3f2a9c-t43", queue="Sales"))
    assert len(fake.tickets) == 1


def test_a_known_customer_is_reused_and_keeps_their_name(fake, zendesk):
    ann = fake.add_user("Ann Original", "Ann@Example.com")
    made = zendesk.open_ticket(new_ticket())
    assert fake.tickets[int(made.remote_ticket_id)]["requester_id"] == ann
    assert fake.users[ann]["name"] == "Ann Original" and len(fake.users) == 2


def test_a_customer_follow_up_is_public_and_credited_to_them(fake, zendesk):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    made = zendesk.add_message(number, message("gmc-3f2a9c-c2", text="Any news?", author=BOB, cc=(ANN,),
                                               files=(PDF,)))
    latest = fake.ticket_comments(int(number))[-1]
    assert latest["public"] and user_email(fake, latest["author_id"]) == "bob@example.com"
    assert latest["body"] == "Cc: Ann Customer <ann@example.com>\n\nAny news?"
    assert [(a["file_name"], fake.files[a["id"]]) for a in latest["attachments"]] == [(PDF.filename, PDF.payload)]
    assert made.remote_item_id == str(latest["id"])


def test_an_auto_reply_is_an_internal_note_saying_whose_mail_it_was(fake, zendesk):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    zendesk.add_message(number, message("gmc-3f2a9c-c3", text="I am out of office.", public=False))
    note = fake.ticket_comments(int(number))[-1]
    assert not note["public"] and note["author_id"] == fake.me
    assert note["body"].startswith("From: Ann Customer <ann@example.com>\nDate: ")
    assert note["body"].endswith("I am out of office.")


def test_html_mail_becomes_an_html_comment_and_an_empty_file_is_named_instead(fake, zendesk):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    empty = FileToDeliver("empty.txt", "text/plain", b"")
    zendesk.add_message(number, message("gmc-3f2a9c-c4", html="<p>Hello <b>there</b></p>", files=(empty,)))
    latest = fake.ticket_comments(int(number))[-1]
    assert latest["html_body"].endswith("<p>Hello <b>there</b></p>") and "empty.txt" in latest["html_body"]
    assert latest["attachments"] == []


def test_reopen_opens_a_solved_ticket_leaves_an_open_one_and_explains_a_closed_one(fake, zendesk):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    audits = len(fake.audits[int(number)])
    zendesk.reopen(number, "gmc-3f2a9c-e5")
    assert fake.tickets[int(number)]["status"] == "new" and len(fake.audits[int(number)]) == audits
    fake.solve(int(number))
    zendesk.reopen(number, "gmc-3f2a9c-e6")
    assert fake.tickets[int(number)]["status"] == "open"
    fake.solve(int(number), "closed")
    zendesk.reopen(number, "gmc-3f2a9c-e7")      # closed is final: the customer's mail opened a follow-up
    assert fake.tickets[int(number)]["status"] == "closed"


def test_mail_on_a_closed_ticket_opens_one_follow_up_ticket_found_again_after_a_lost_answer(fake, zendesk):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    fake.solve(int(number), "closed")
    fake.lose_answer("POST", "/api/v2/tickets")
    with pytest.raises(HelpdeskUnavailable):
        zendesk.add_message(number, message("gmc-3f2a9c-c9", text="It broke again."))
    found = zendesk.find_message(number, "gmc-3f2a9c-c9")
    assert found is not None and found.remote_ticket_id != number
    follow_up = fake.tickets[int(found.remote_ticket_id)]
    assert (follow_up["followup_source_id"], follow_up["requester_id"]) == (int(number),
                                                                           fake.tickets[int(number)]["requester_id"])
    assert follow_up["subject"] == fake.tickets[int(number)]["subject"]
    assert "It broke again." in fake.ticket_comments(int(found.remote_ticket_id))[0]["body"]
    assert len(fake.tickets) == 2


def test_a_follow_up_ticket_is_credited_to_the_customer_not_to_the_api_user(fake, zendesk):
    # Zendesk makes a new ticket's submitter the author of its first comment, whatever the comment says.
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    fake.solve(int(number), "closed")
    made = zendesk.add_message(number, message("gmc-3f2a9c-c9", text="It broke again.", author=BOB))
    [first] = fake.ticket_comments(int(made.remote_ticket_id))
    assert first["public"] and user_email(fake, first["author_id"]) == "bob@example.com"
    assert fake.tickets[int(made.remote_ticket_id)]["submitter_id"] == first["author_id"]


def test_a_follow_up_whose_key_zendesk_kept_for_another_body_is_still_made_once(fake, zendesk):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    fake.solve(int(number), "closed")
    # An earlier attempt under this Idempotency-Key, with other upload tokens, was refused: Zendesk kept that.
    fake.keys["gmc-3f2a9c-c9"] = ("{}", (422, {"Content-Type": "application/json"}, '{"error": "RecordInvalid"}'))
    made = zendesk.add_message(number, message("gmc-3f2a9c-c9", text="It broke again."))
    assert made.remote_ticket_id != number and len(fake.tickets) == 2
    assert zendesk.find_message(number, "gmc-3f2a9c-c9").remote_ticket_id == made.remote_ticket_id


@pytest.mark.parametrize("files", [(), (PDF,)], ids=["same body", "new upload tokens"])
def test_a_ticket_whose_answer_was_lost_is_found_and_never_made_twice(fake, zendesk, files):
    fake.lose_answer("POST", "/api/v2/tickets")
    with pytest.raises(HelpdeskUnavailable, match="unreachable"):
        zendesk.open_ticket(new_ticket(first=message(files=files)))
    [number] = fake.tickets
    assert zendesk.find_ticket("gmc-3f2a9c-t42").remote_ticket_id == str(number)
    # A retry that skipped the lookup: the Idempotency-Key (or, with a changed body, the external_id) holds.
    assert zendesk.open_ticket(new_ticket(first=message(files=files))).remote_ticket_id == str(number)
    assert len(fake.tickets) == 1 and len(fake.ticket_comments(number)) == 1
    assert zendesk.find_ticket("gmc-3f2a9c-t99") is None


def test_a_message_whose_answer_was_lost_is_found_by_its_key(fake, zendesk):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    fake.lose_answer("PUT", rf"/api/v2/tickets/{number}")
    with pytest.raises(HelpdeskUnavailable):
        zendesk.add_message(number, message("gmc-3f2a9c-c2", text="Any news?"))
    found = zendesk.find_message(number, "gmc-3f2a9c-c2")
    assert found.remote_item_id == str(fake.ticket_comments(int(number))[-1]["id"])
    assert zendesk.find_message(number, "gmc-3f2a9c-t42") is None       # a ticket key is no message key
    assert zendesk.find_message(number, "gmc-3f2a9c-c1").remote_item_id == str(
        fake.ticket_comments(int(number))[0]["id"])
    assert zendesk.find_message(number, "gmc-3f2a9c-c9") is None


def test_refused_credentials_are_credentials_refused_without_the_token(fake):
    adapter = Zendesk(URL, EMAIL, "wrong-token-also-secret", webhook_secret=SECRET)
    with pytest.raises(CredentialsRefused) as refused:
        adapter.open_ticket(new_ticket())
    assert "Couldn't authenticate you" in refused.value.reason and "wrong-token" not in refused.value.reason
    adapter.close()


@pytest.mark.parametrize("status, body", [
    (422, {"error": "RecordInvalid", "description": "Record validation errors",
           "details": {"base": [{"description": "Requester: Email is invalid"}]}}),
    (400, {"error": "ParameterMissing", "description": "ticket parameter is missing"})])
def test_a_validation_error_is_refused_with_zendesks_words(fake, zendesk, status, body):
    fake.fail("POST", "/api/v2/tickets", status, body)
    with pytest.raises(HelpdeskRefused) as refused:
        zendesk.open_ticket(new_ticket())
    assert body["description"] in refused.value.reason and not isinstance(refused.value, HelpdeskUnavailable)
    assert fake.tickets == {}


@pytest.mark.parametrize("status, headers, wait", [(429, {"Retry-After": "7"}, 7.0), (503, {}, None),
                                                   (409, {}, None)])
def test_rate_limits_outages_and_conflicts_are_retried_later(fake, zendesk, status, headers, wait):
    number = zendesk.open_ticket(new_ticket()).remote_ticket_id
    fake.fail("PUT", rf"/api/v2/tickets/{number}", status, {"error": "Try later"}, headers)
    with pytest.raises(HelpdeskUnavailable) as later:
        zendesk.add_message(number, message("gmc-3f2a9c-c2"))
    assert later.value.retry_after == wait and str(status) in later.value.reason


def test_a_remote_id_that_is_not_a_ticket_number_is_refused(zendesk):
    with pytest.raises(HelpdeskRefused, match="not a Zendesk ticket id"):
        zendesk.add_message("12; DROP", message())
