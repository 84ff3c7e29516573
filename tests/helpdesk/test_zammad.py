"""The Zammad adapter against a stateful fake of Zammad's REST API: what Zammad ends up holding."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import responses

from connector.helpdesk.port import (CredentialsRefused, FileToDeliver, HelpdeskMessage, HelpdeskRefused,
                                     HelpdeskUnavailable, NewHelpdeskTicket, Person)
from connector.helpdesk.zammad import Zammad
from tests.helpdesk.fakes.zammad_api import SECRET, TOKEN, URL, FakeZammad

ZOE = Person("Zoë Müller", "zoe.muller@example.org")
BOB = Person("Bob, Jr.", "bob.cc@example.org")
PDF = b"%PDF-1.4\n\x00\x01\x02\xff binary bytes \xfe\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
WHEN = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    zammad = FakeZammad()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        zammad.register(mocked)
        yield zammad


@pytest.fixture
def zammad(fake):
    adapter = Zammad(URL + "/", TOKEN, webhook_secret=SECRET)
    yield adapter
    adapter.close()


def message(key: str, *, public: bool = True, html: str | None = None, author: Person = ZOE,
            files: tuple[FileToDeliver, ...] = ()) -> HelpdeskMessage:
    return HelpdeskMessage(key=key, author=author, body_text="Ma facture est fausse.", body_html=html,
                           message_id=f"{key}@mail.example.org", created_at=WHEN, public=public, cc=(BOB,),
                           attachments=files, our_ticket_id=42)


def new_ticket(key: str = "gmc-3f2a9c-t42", queue: str = "Support", **first) -> NewHelpdeskTicket:
    return NewHelpdeskTicket(key=key, our_ticket_id=42, subject="Problème de facture n°7", requester=ZOE,
                             queue=queue, first=message("gmc-3f2a9c-c17", **first), cc=(BOB,))


def test_a_ticket_arrives_in_its_group_credited_to_the_customer_with_its_files(fake, zammad):
    files = (FileToDeliver("facture-été.pdf", "application/pdf", PDF),
             FileToDeliver("logo.png", "image/png", PNG, inline=True, content_id="logo-1@mail.example.org"))
    delivered = zammad.open_ticket(new_ticket(html="<p>Bonjour</p>", files=files))

    ticket = fake.tickets[int(delivered.remote_ticket_id)]
    assert delivered.url == f"{URL}/#ticket/zoom/{ticket['id']}"
    assert (ticket["title"], fake.groups[ticket["group_id"]], fake.state(ticket["id"])) == \
        ("Problème de facture n°7", "Support", "new")
    customer = fake.users[ticket["customer_id"]]
    assert (customer["email"], customer["firstname"], customer["lastname"]) == (ZOE.email, "Zoë", "Müller")
    [article] = fake.ticket_articles(ticket["id"])
    assert delivered.remote_item_id == str(article["id"])
    assert (article["type"], article["sender"], article["internal"]) == ("email", "Customer", False)
    assert article["origin_by_id"] == customer["id"] and article["from"] == "Zoë Müller <zoe.muller@example.org>"
    assert article["cc"] == '"Bob, Jr." <bob.cc@example.org>'
    assert article["message_id"] == "<gmc-3f2a9c-c17@gmail-connector>"
    assert article["references"] == "<gmc-3f2a9c-t42@gmail-connector>"
    assert (article["content_type"], article["body"]) == ("text/html", "<p>Bonjour</p>")
    stored = {fake.files[f]["filename"]: fake.download(f) for f in article["file_ids"]}
    assert stored == {"facture-été.pdf": PDF, "logo.png": PNG}
    assert fake.outgoing_mail == []             # no auto reply, no mail from Zammad


def test_the_default_auto_reply_would_fire_without_our_preference(fake, zammad):
    """The fake's trigger is real enough to catch an article that forgets "send-auto-response": false."""
    zammad.open_ticket(new_ticket())
    fake._add_article(fake.tickets[1], {"type": "email", "sender": "Agent", "body": "x"}, fake.agent["id"])
    assert len(fake.outgoing_mail) == 1         # an agent's email article is mailed by Zammad itself


def test_a_customer_follow_up_is_public_and_credited_to_the_existing_customer(fake, zammad):
    remote = zammad.open_ticket(new_ticket()).remote_ticket_id
    users = len(fake.users)
    added = zammad.add_message(remote, message("gmc-3f2a9c-c18"))

    article = fake.articles[int(added.remote_item_id)]
    assert added.remote_ticket_id == remote and len(fake.users) == users
    assert (article["type"], article["sender"], article["internal"]) == ("email", "Customer", False)
    assert article["origin_by_id"] == fake.tickets[int(remote)]["customer_id"]
    assert (article["content_type"], article["body"]) == ("text/plain", "Ma facture est fausse.")
    assert article["message_id"] == "<gmc-3f2a9c-c18@gmail-connector>" and article["references"] is None
    assert article["preferences"] == {"send-auto-response": False} and fake.outgoing_mail == []


def test_an_auto_reply_or_bounce_is_an_internal_note(fake, zammad):
    remote = zammad.open_ticket(new_ticket()).remote_ticket_id
    daemon = Person("Mail Delivery System", "mailer-daemon@example.org")
    added = zammad.add_message(remote, message("gmc-3f2a9c-c19", public=False, author=daemon))

    article = fake.articles[int(added.remote_item_id)]
    assert (article["type"], article["sender"], article["internal"]) == ("note", "Agent", True)
    assert article["origin_by_id"] is None and article["from"] == "Mail Delivery System <mailer-daemon@example.org>"
    assert all(u["email"] != daemon.email for u in fake.users.values())   # no user made for a bounce


def test_reopen_opens_a_closed_ticket_and_leaves_an_open_one_alone(fake, zammad):
    remote = zammad.open_ticket(new_ticket()).remote_ticket_id
    fake.solve(int(remote))
    zammad.reopen(remote, "gmc-3f2a9c-e5")
    assert fake.state(int(remote)) == "open"

    puts = sum(method == "PUT" for method, _ in fake.requests)
    zammad.reopen(remote, "gmc-3f2a9c-e6")
    assert sum(method == "PUT" for method, _ in fake.requests) == puts

    fake.tickets[int(remote)]["state_id"] = 5       # merged
    with pytest.raises(HelpdeskRefused, match="merged into another ticket"):
        zammad.reopen(remote, "gmc-3f2a9c-e7")


def test_a_lost_answer_to_a_new_ticket_is_found_again_so_the_retry_makes_no_second(fake, zammad):
    fake.lose("POST", "/api/v1/tickets")
    with pytest.raises(HelpdeskUnavailable, match="unreachable"):
        zammad.open_ticket(new_ticket())
    assert len(fake.tickets) == 1                   # it reached Zammad

    found = zammad.find_ticket("gmc-3f2a9c-t42")
    assert found is not None and found.remote_ticket_id == "1" and found.url == f"{URL}/#ticket/zoom/1"
    assert zammad.find_message("1", "gmc-3f2a9c-c17").remote_item_id == "1"
    assert zammad.find_ticket("gmc-3f2a9c-t4") is None and zammad.find_ticket("gmc-000000-t42") is None
    assert len(fake.tickets) == 1


def test_find_ticket_trusts_only_an_article_the_connector_wrote(fake, zammad):
    zammad.open_ticket(new_ticket(key="gmc-3f2a9c-t1"))
    # An agent's email answer quotes our thread in its References; a search hit is not proof.
    fake._add_article(fake.tickets[1], {"type": "note", "sender": "Agent", "body": "x", "message_id": "<a@zammad>",
                                        "references": "<gmc-3f2a9c-t99@gmail-connector>"}, fake.agent["id"])
    assert zammad.find_ticket("gmc-3f2a9c-t99") is None
    assert zammad.find_ticket("gmc-3f2a9c-t1").remote_ticket_id == "1"


def test_a_lost_answer_to_a_follow_up_is_found_again(fake, zammad):
    remote = zammad.open_ticket(new_ticket()).remote_ticket_id
    fake.lose("POST", "/api/v1/ticket_articles")
    with pytest.raises(HelpdeskUnavailable):
        zammad.add_message(remote, message("gmc-3f2a9c-c18"))

    found = zammad.find_message(remote, "gmc-3f2a9c-c18")
    assert found is not None and found.remote_item_id == "2" and found.remote_ticket_id == remote
    assert zammad.find_message(remote, "gmc-3f2a9c-c1") is None
    assert len(fake.ticket_articles(int(remote))) == 2


def test_a_refused_token_is_credentials_refused_without_the_token(fake):
    adapter = Zammad(URL, "wrong-token", webhook_secret=SECRET)
    with pytest.raises(CredentialsRefused) as refused:
        adapter.open_ticket(new_ticket())
    assert refused.value.reason == "Zammad refused the credentials of ZAMMAD_TOKEN's user (401): authentication failed"
    assert "wrong-token" not in refused.value.reason


def test_validation_errors_are_refused_with_zammads_words(fake, zammad):
    with pytest.raises(HelpdeskRefused) as unknown:
        zammad.open_ticket(new_ticket(queue="Nowhere"))
    assert "refused POST /api/v1/tickets (422): No lookup value found for 'group': \"Nowhere\"" in unknown.value.reason
    with pytest.raises(HelpdeskRefused, match=r"\(403\): Not authorized"):
        zammad.open_ticket(new_ticket(queue="Sales"))      # read-only group
    with pytest.raises(HelpdeskRefused, match="not a Zammad ticket id"):
        zammad.add_message("#31001", message("gmc-3f2a9c-c18"))
    fake.script.append((400, {"Content-Type": "application/json"}, b'{"error": "bad ' + TOKEN.encode() + b'"}'))
    with pytest.raises(HelpdeskRefused) as bad:
        zammad.add_message("1", message("gmc-3f2a9c-c18", public=False))
    assert "(400): bad ***" in bad.value.reason and TOKEN not in bad.value.reason


def test_429_and_5xx_are_unavailable_with_their_retry_after(fake, zammad):
    fake.script += [(429, {"Retry-After": "30"}, b'{"error": "slow down"}'), (502, {}, b"<html>bad gateway</html>")]
    with pytest.raises(HelpdeskUnavailable) as limited:
        zammad.find_message("1", "gmc-3f2a9c-c17")
    assert limited.value.retry_after == 30.0 and "answered 429" in limited.value.reason
    with pytest.raises(HelpdeskUnavailable) as down:
        zammad.find_message("1", "gmc-3f2a9c-c17")
    assert down.value.retry_after is None and "answered 502" in down.value.reason
    assert fake.tickets == {}


def test_the_api_url_pasted_as_zammad_url_still_works(fake):
    adapter = Zammad(URL + "/api/v1/", TOKEN, webhook_secret=SECRET)
    assert adapter.open_ticket(new_ticket()).url == f"{URL}/#ticket/zoom/1"
