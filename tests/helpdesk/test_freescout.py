"""The FreeScout adapter delivering tickets, follow-ups and notes to a stateful FreeScout fake (its API's shapes).

Assertions are about what FreeScout ends up holding: conversations, threads, customers, files,
and the mail FreeScout itself would have sent (none, for what the connector delivers).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import responses

from connector.helpdesk.freescout import FreeScout
from connector.helpdesk.port import (CredentialsRefused, FileToDeliver, HelpdeskMessage, HelpdeskRefused,
                                     HelpdeskUnavailable, NewHelpdeskTicket, Person)
from tests.helpdesk.fakes.freescout_api import API_KEY, SECRET, URL, FreeScoutFake

ZOE = Person("Zoë Müller", "zoe.muller@example.org")
BOB = Person("Bob Colleague", "bob.cc@example.org")
PDF = b"%PDF-1.4\n\x00\x01\x02\xff binary bytes \xfe\n%%EOF\n"
WHEN = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    fake = FreeScoutFake()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake


@pytest.fixture
def freescout(fake):
    adapter = FreeScout(URL, API_KEY, webhook_secret=SECRET)
    yield adapter
    adapter.close()


def message(key: str, *, author: Person = ZOE, public: bool = True, text: str = "Ma facture est fausse.",
            html: str | None = None, files: tuple[FileToDeliver, ...] = ()) -> HelpdeskMessage:
    return HelpdeskMessage(key=key, author=author, body_text=text, body_html=html, message_id=f"{key}@mail.example",
                           created_at=WHEN, public=public, cc=(BOB,), attachments=files)


def new_ticket(key: str = "gmc-3f2a9c-t42", queue: str = "Billing", **first) -> NewHelpdeskTicket:
    return NewHelpdeskTicket(key=key, our_ticket_id=42, subject="Problème de facture n°7", requester=ZOE,
                             queue=queue, first=message(f"{key}-m1", **first))


def threads(fake: FreeScoutFake, number: str) -> list[dict]:
    return fake.conversations[int(number)]["threads"]


def test_a_ticket_becomes_a_conversation_of_the_customer_in_the_mailbox_with_its_files(fake, freescout):
    files = (FileToDeliver("facture-été.pdf", "application/pdf", PDF), FileToDeliver("vide.txt", "text/plain", b""))
    delivered = freescout.open_ticket(new_ticket(text="Bonjour,\nla facture <7> est fausse.", files=files))

    conversation = fake.conversations[int(delivered.remote_ticket_id)]
    assert delivered.url == f"{URL}/conversation/{delivered.remote_ticket_id}"
    assert (conversation["mailboxId"], conversation["subject"], conversation["status"]) == (
        2, "Problème de facture n°7", "active")
    customer = fake.customers[conversation["customer_id"]]
    assert (customer["email"], customer["firstName"], customer["lastName"]) == (ZOE.email, "Zoë", "Müller")
    only = conversation["threads"][0]
    assert len(conversation["threads"]) == 1 and only["type"] == "customer" and only["by"][0] == "customer"
    assert "Bonjour,<br>\nla facture &lt;7&gt; est fausse." in only["body"]
    assert "empty file not attached: vide.txt" in only["body"]
    assert only["cc"] == [BOB.email] and only["createdAt"] == "2026-11-30T09:15:00Z"
    assert [(fake.files[i]["fileName"], fake.files[i]["data"]) for i in only["attachments"]] == [
        ("facture-été.pdf", PDF)]
    assert fake.outgoing == []              # imported: no auto-reply, no notification


@pytest.mark.parametrize("queue", ["2", "Billing", "billing@shop.example", " BILLING "])
def test_a_queue_names_a_mailbox_by_id_name_or_address(fake, freescout, queue):
    number = freescout.open_ticket(new_ticket(queue=queue)).remote_ticket_id
    assert fake.conversations[int(number)]["mailboxId"] == 2


def test_an_unknown_mailbox_is_refused_and_nothing_is_made(fake, freescout):
    with pytest.raises(HelpdeskRefused, match="no mailbox 'Sales'"):
        freescout.open_ticket(new_ticket(queue="Sales"))
    assert fake.conversations == {}


def test_a_customer_follow_up_is_credited_to_its_author_and_keeps_the_requester(fake, freescout):
    number = freescout.open_ticket(new_ticket()).remote_ticket_id
    fake.set_status(int(number), "closed")
    added = freescout.add_message(number, message("gmc-3f2a9c-c17", author=BOB, text="Voici le relevé.",
                                                  files=(FileToDeliver("relevé.pdf", "application/pdf", PDF),)))

    conversation = fake.conversations[int(number)]
    thread = next(t for t in conversation["threads"] if t["id"] == int(added.remote_item_id))
    assert thread["type"] == "customer" and fake.customers[thread["by"][1]]["email"] == BOB.email
    assert fake.files[thread["attachments"][0]]["data"] == PDF
    assert fake.customers[conversation["customer_id"]]["email"] == ZOE.email    # still Zoë's ticket
    assert conversation["status"] == "active"                                   # the customer wrote again
    assert fake.outgoing == []


def test_an_auto_reply_is_an_internal_note_naming_its_sender(fake, freescout):
    number = freescout.open_ticket(new_ticket()).remote_ticket_id
    freescout.add_message(number, message("gmc-3f2a9c-c18", public=False, text="Absent until Monday."))

    note = threads(fake, number)[-1]
    assert note["type"] == "note" and note["by"] == ("user", 1)      # the oldest administrator
    assert "Absent until Monday." in note["body"] and "zoe.muller@example.org" in note["body"]
    assert fake.conversations[int(number)]["status"] == "active"


def test_notes_can_be_credited_to_a_chosen_user(fake):
    adapter = FreeScout(URL, API_KEY, webhook_secret=SECRET, user="ulla@shop.example")
    number = adapter.open_ticket(new_ticket()).remote_ticket_id
    adapter.add_message(number, message("gmc-3f2a9c-c18", public=False))
    assert threads(fake, number)[-1]["by"] == ("user", 7)


def test_reopen_makes_a_closed_conversation_active_and_leaves_an_active_one(fake, freescout):
    number = freescout.open_ticket(new_ticket()).remote_ticket_id
    freescout.reopen(number, "gmc-3f2a9c-e9")
    assert fake.conversations[int(number)]["status"] == "active"
    fake.set_status(int(number), "closed")
    freescout.reopen(number, "gmc-3f2a9c-e9")
    assert fake.conversations[int(number)]["status"] == "active"


def test_a_lost_answer_is_found_again_so_the_retry_makes_no_duplicate(fake, freescout):
    fake.lose_answer("POST", "/api/conversations")
    ticket = new_ticket()
    with pytest.raises(HelpdeskUnavailable, match="unreachable"):
        freescout.open_ticket(ticket)
    assert len(fake.conversations) == 1                       # FreeScout made it; we never heard back
    found = freescout.find_ticket(ticket.key)
    assert found is not None and found.remote_ticket_id == str(next(iter(fake.conversations)))
    restarted = FreeScout(URL, API_KEY, webhook_secret=SECRET)      # no memory of the requester
    assert restarted.find_ticket(ticket.key) == found
    assert freescout.find_ticket("gmc-3f2a9c-t4") is None           # a prefix of the key is another key

    number = found.remote_ticket_id
    fake.lose_answer("POST", rf"/api/conversations/{number}/threads")
    with pytest.raises(HelpdeskUnavailable):
        freescout.add_message(number, message("gmc-3f2a9c-c17"))
    again = freescout.find_message(number, "gmc-3f2a9c-c17")
    assert again is not None and again.remote_item_id == str(threads(fake, number)[-1]["id"])
    assert len(threads(fake, number)) == 2
    first = freescout.find_message(number, f"{ticket.key}-m1")
    assert first is not None and first.remote_item_id == str(threads(fake, number)[0]["id"])
    assert freescout.find_message(number, "gmc-3f2a9c-c1") is None


def test_a_ticket_that_never_arrived_is_not_found(fake, freescout):
    freescout.open_ticket(new_ticket(key="gmc-3f2a9c-t1"))
    assert freescout.find_ticket("gmc-3f2a9c-t2") is None


def test_a_refused_api_key_is_credentials_refused_without_the_key(fake):
    adapter = FreeScout(URL, "0" * 32, webhook_secret=SECRET)
    with pytest.raises(CredentialsRefused) as refused:
        adapter.open_ticket(new_ticket())
    assert "401" in refused.value.reason and "0" * 32 not in refused.value.reason


def test_a_validation_error_is_refused_with_freescouts_words(fake, freescout):
    fake.fail("POST", "/api/conversations", 400, {"message": "Bad request", "_embedded": {"errors": [
        {"path": "subject", "message": "may not be empty", "source": "JSON"}]}})
    with pytest.raises(HelpdeskRefused, match=r"Bad request \(subject: may not be empty\)"):
        freescout.open_ticket(new_ticket())
    assert fake.conversations == {}


def test_a_missing_conversation_is_refused(fake, freescout):
    with pytest.raises(HelpdeskRefused, match="404"):
        freescout.add_message("999", message("gmc-3f2a9c-c17"))


def test_rate_limits_and_server_errors_are_unavailable(fake, freescout):
    fake.fail("POST", "/api/conversations", 429, {"message": "Too Many Attempts."}, {"Retry-After": "42"})
    with pytest.raises(HelpdeskUnavailable) as limited:
        freescout.open_ticket(new_ticket())
    assert limited.value.retry_after == 42 and not isinstance(limited.value, CredentialsRefused)
    fake.fail("POST", "/api/conversations", 504, {"message": "Gateway Timeout"})
    with pytest.raises(HelpdeskUnavailable, match="504"):
        freescout.open_ticket(new_ticket())
    assert fake.conversations == {}


def test_a_created_answer_without_its_id_is_unavailable_for_the_lookup_to_settle(fake, freescout):
    fake.fail("POST", "/api/conversations", 201)
    with pytest.raises(HelpdeskUnavailable, match="Resource-ID"):
        freescout.open_ticket(new_ticket())


def test_check_names_each_queue_the_user_and_the_secret(fake):
    result = FreeScout(URL, API_KEY, webhook_secret=SECRET).check(["Support", "2", "Sales"])
    assert any("accepts FREESCOUT_API_KEY (2 mailbox(es))" in line for line in result.ok)
    assert any("user #1 <olaf@shop.example>" in line for line in result.ok)
    assert "queue Support: mailbox #1 Support <support@shop.example>" in result.ok
    assert "queue 2: mailbox #2 Billing <billing@shop.example>" in result.ok
    assert [p for p in result.problems if p.startswith("queue Sales: no FreeScout mailbox")]
    assert len(result.problems) == 1

    unsigned = FreeScout(URL, API_KEY, webhook_secret="").check([])
    assert any("HELPDESK_WEBHOOK_SECRET is empty" in p for p in unsigned.problems)
    refused = FreeScout(URL, "f" * 32, webhook_secret=SECRET).check(["Support"])
    assert refused.ok == [] and "refused the credentials of FREESCOUT_API_KEY" in refused.problems[0]


def test_a_closed_conversation_whose_answer_was_lost_is_found_after_a_restart(fake, freescout):
    # List Conversations takes ONE status (default active): each is asked for, none is missed.
    fake.lose_answer("POST", "/api/conversations")
    with pytest.raises(HelpdeskUnavailable):
        freescout.open_ticket(new_ticket())
    number = next(iter(fake.conversations))
    fake.set_status(number, "closed")
    found = FreeScout(URL, API_KEY, webhook_secret=SECRET).find_ticket("gmc-3f2a9c-t42")
    assert found is not None and found.remote_ticket_id == str(number)
    assert freescout.find_ticket("gmc-3f2a9c-t42") == found and len(fake.conversations) == 1


def test_a_file_without_a_name_php_would_drop_arrives_named(fake, freescout):
    files = (FileToDeliver("", "application/pdf", PDF), FileToDeliver("0", "text/plain", b"zero"))
    number = freescout.open_ticket(new_ticket(files=files)).remote_ticket_id
    stored = [fake.files[i] for i in threads(fake, number)[0]["attachments"]]
    assert [(f["fileName"], f["data"]) for f in stored] == [("attachment-1.pdf", PDF), ("attachment-2.txt", b"zero")]


def test_a_mailbox_with_auto_reply_on_mails_the_customer_even_for_imported_tickets(fake, freescout):
    # Why the guide has Auto Reply turned off: `imported` does not stop FreeScout's SendAutoReply.
    fake.auto_reply.add(2)
    freescout.open_ticket(new_ticket())
    assert [(m["kind"], m["to"]) for m in fake.outgoing] == [("auto-reply", ZOE.email)]
    fake.outgoing.clear()
