"""The Request Tracker adapter against a real RT 5 (scripts/start-rt.sh), read back through REST 2.0.

The tests at the end need no RT: they check how RT's error answers map to the port's errors.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
import responses

from connector.helpdesk.port import (CredentialsRefused, FileToDeliver, HelpdeskMessage, HelpdeskRefused,
                                     HelpdeskUnavailable, NewHelpdeskTicket, Person)
from connector.helpdesk.rt import RequestTracker
from tests.helpdesk.conftest import OFFLINE_API as API

ZOE = Person("Zoë Müller", "zoe.muller@example.org")
BOB = Person("Bob, Jr.", "bob.cc@example.org")
PDF = b"%PDF-1.4\n\x00\x01\x02\xff binary bytes \xfe\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
WHEN = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)


def message(key: str, *, public: bool = True, text: str = "Ma facture est fausse.", html: str | None = None,
            files: tuple[FileToDeliver, ...] = ()) -> HelpdeskMessage:
    return HelpdeskMessage(key=key, author=ZOE, body_text=text, body_html=html, message_id=f"{key}@mail.example.org",
                           created_at=WHEN, public=public, cc=(BOB,), attachments=files)


def new_ticket(key: str, queue: str = "Billing", **first) -> NewHelpdeskTicket:
    return NewHelpdeskTicket(key=key, our_ticket_id=42, subject="Problème de facture n°7 — été", requester=ZOE,
                             queue=queue, first=message(f"{key}-m1", **first), cc=(BOB,))


def create_transaction(rt_reader, ticket_id: str) -> dict:
    return next(t for t in rt_reader.history(ticket_id) if t["Type"] == "Create")


def by_name(parts: list[dict]) -> dict[str, dict]:
    return {part["Filename"]: part for part in parts if part.get("Filename")}


def test_open_ticket_with_non_ascii_attachment_and_inline_image(rt, rt_reader, key):
    html = '<p>Bonjour,</p><p>voici la facture <img src="cid:logo-1@mail.example.org"></p>'
    files = (FileToDeliver("facture-été.pdf", "application/pdf", PDF),
             FileToDeliver("logo.png", "image/png", PNG, inline=True, content_id="logo-1@mail.example.org"))
    delivered = rt.open_ticket(new_ticket(f"{key}-t", html=html, files=files))

    number = delivered.remote_ticket_id
    assert number.isdigit() and delivered.url == rt.ticket_url(number)
    assert delivered.url.endswith(f"/Ticket/Display.html?id={number}")
    ticket = rt_reader.get(f"/ticket/{number}", **{"fields[Queue]": "Name"})
    assert ticket["Queue"]["Name"] == "Billing"
    assert ticket["Subject"] == "Problème de facture n°7 — été"
    assert [user["id"] for user in ticket["Requestor"]] == [ZOE.email]
    assert [user["id"] for user in ticket["Cc"]] == [BOB.email]
    assert [cf["values"] for cf in ticket["CustomFields"] if cf["name"] == "Gmail-Connector-Key"] == [[f"{key}-t"]]
    assert rt_reader.get(f"/user/{ZOE.email}")["RealName"] == "Zoë Müller"   # RT made the customer's user

    created = create_transaction(rt_reader, number)
    parts = rt_reader.attachments(created["id"])
    files_back = by_name(parts)
    assert set(files_back) == {"facture-été.pdf", "logo.png"}
    assert files_back["facture-été.pdf"]["ContentType"] == "application/pdf"
    assert files_back["facture-été.pdf"]["bytes"] == PDF
    assert files_back["logo.png"]["ContentType"] == "image/png" and files_back["logo.png"]["bytes"] == PNG
    body = next(part for part in parts if part["ContentType"] == "text/html")["bytes"].decode()
    assert "voici la facture" in body
    assert "<b>From:</b> &quot;Zoë Müller&quot; &lt;zoe.muller@example.org&gt;" in body   # who wrote it


def test_plain_text_first_message_names_its_author(rt, rt_reader, key):
    number = rt.open_ticket(new_ticket(f"{key}-t", queue="General", text="Line one\nLine two")).remote_ticket_id
    parts = rt_reader.attachments(create_transaction(rt_reader, number)["id"])
    body = next(part for part in parts if part["ContentType"] == "text/plain")["bytes"].decode()
    assert body.startswith('From: "Zoë Müller" <zoe.muller@example.org>\nCc: "Bob, Jr." <bob.cc@example.org>\n')
    assert "Date: Mon, 30 Nov 2026 09:15:00 +0000\n\nLine one\nLine two" in body


def test_public_message_is_correspondence_and_note_is_comment(rt, rt_reader, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    reply = rt.add_message(number, message(f"{key}-m2", text="Voici le relevé.",
                                           files=(FileToDeliver("relevé.pdf", "application/pdf", PDF),)))
    note = rt.add_message(number, message(f"{key}-m3", public=False, text="Réponse automatique : absent.",
                                          files=(FileToDeliver("notes.txt", "text/plain", "café\n".encode()),)))

    assert reply.remote_ticket_id == note.remote_ticket_id == number
    assert rt_reader.get(f"/transaction/{reply.remote_item_id}")["Type"] == "Correspond"
    assert rt_reader.get(f"/transaction/{note.remote_item_id}")["Type"] == "Comment"
    assert by_name(rt_reader.attachments(reply.remote_item_id))["relevé.pdf"]["bytes"] == PDF
    note_parts = rt_reader.attachments(note.remote_item_id)
    assert by_name(note_parts)["notes.txt"]["bytes"] == "café\n".encode()
    assert any("Réponse automatique" in part["bytes"].decode() for part in note_parts
               if part["ContentType"] == "text/plain")


def test_find_ticket_and_find_message_by_key(rt, key):
    opened = rt.open_ticket(new_ticket(f"{key}-t"))
    added = rt.add_message(opened.remote_ticket_id, message(f"{key}-m2"))
    other = rt.open_ticket(new_ticket(f"{key}-other"))

    assert rt.find_ticket(f"{key}-t") == opened
    assert rt.find_ticket(f"{key}-nothing") is None
    assert rt.find_ticket("it's got 'quotes' \\ and a backslash") is None
    assert rt.find_message(opened.remote_ticket_id, f"{key}-m2") == added
    first = rt.find_message(opened.remote_ticket_id, f"{key}-t-m1")
    assert first is not None and first.remote_item_id.isdigit()     # the key of the first message too
    assert rt.find_message(opened.remote_ticket_id, f"{key}-nothing") is None
    assert rt.find_message(other.remote_ticket_id, f"{key}-m2") is None


def test_reopen_a_resolved_ticket(rt, rt_reader, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    rt_reader.put(f"/ticket/{number}", {"Status": "resolved"})
    rt.reopen(number, f"{key}-e1")
    assert rt_reader.get(f"/ticket/{number}")["Status"] == "open"
    count = len(rt_reader.history(number))
    rt.reopen(number, f"{key}-e1")                                    # already open: nothing to do
    assert len(rt_reader.history(number)) == count


def test_empty_attachment_is_named_not_sent(rt, rt_reader, key):
    number = rt.open_ticket(new_ticket(f"{key}-t", files=(FileToDeliver("vide.txt", "text/plain", b""),)))
    parts = rt_reader.attachments(create_transaction(rt_reader, number.remote_ticket_id)["id"])
    assert by_name(parts) == {}
    assert any("Not attached (empty): vide.txt" in part["bytes"].decode() for part in parts)


def test_check_reports_each_queue(rt):
    result = rt.check(["General", "Billing", "Sealed", "No Such Queue"])
    assert result.problems == [
        "RT_USER gmail-connector cannot CreateTicket in queue Sealed",
        "queue No Such Queue does not exist in RT, or RT_USER gmail-connector may not see it (SeeQueue)",
    ]
    assert result.ok[0].startswith("RT 5.") and "accepts the credentials of RT_USER gmail-connector" in result.ok[0]
    assert any(line.startswith("queue General: CreateTicket") for line in result.ok)
    assert any(line.startswith("queue Billing: CreateTicket") for line in result.ok)


def test_queues_the_ticket_cannot_go_to(rt, key):
    with pytest.raises(HelpdeskRefused, match="cannot CreateTicket in queue Sealed"):
        rt.open_ticket(new_ticket(f"{key}-t", queue="Sealed"))
    with pytest.raises(HelpdeskRefused, match="queue No Such Queue does not exist in RT"):
        rt.open_ticket(new_ticket(f"{key}-t", queue="No Such Queue"))


def test_wrong_password_is_refused_without_the_password(rt_server, key):
    tracker = rt_server.tracker(password="wrong-Secret-123")
    try:
        assert tracker.check(["General"]).problems == [
            f"RT refused the credentials of RT_USER {rt_server.user} (401): Unauthorized"]
        with pytest.raises(CredentialsRefused) as refused:     # retried (not parked) until the settings are fixed
            tracker.find_ticket(f"{key}-t")
        assert "(401)" in refused.value.reason and "wrong-Secret-123" not in refused.value.reason
    finally:
        tracker.close()


def test_token_auth(rt_server, rt_token, rt, key):
    opened = rt.open_ticket(new_ticket(f"{key}-t"))
    tracker = RequestTracker(rt_server.url, token=rt_token)
    bad = RequestTracker(rt_server.url, token=rt_token[:-4] + "0000")
    try:
        assert tracker.find_ticket(f"{key}-t") == opened
        assert bad.check([]).problems == ["RT refused the credentials of RT_TOKEN (401): Unauthorized"]
    finally:
        tracker.close()
        bad.close()


def test_closed_port_is_unavailable(rt_server, closed_port, key):
    tracker = rt_server.tracker(url=f"http://127.0.0.1:{closed_port}")
    try:
        with pytest.raises(HelpdeskUnavailable, match="is unreachable") as unavailable:
            tracker.open_ticket(new_ticket(f"{key}-t"))
        assert rt_server.password not in unavailable.value.reason
        assert tracker.check(["General"]).problems[0].startswith(f"RT at http://127.0.0.1:{closed_port} is unreachable")
    finally:
        tracker.close()


# No RT needed below: RT's answers, simulated.

# The `offline` fixture (tests/helpdesk/conftest.py): RequestTracker against `responses`, at API.


def test_5xx_and_429_are_unavailable(offline):
    tracker, mocked = offline
    mocked.get(f"{API}/tickets", status=503, body="Service Unavailable")
    with pytest.raises(HelpdeskUnavailable, match="RT answered 503 to GET /REST/2.0/tickets"):
        tracker.find_ticket("k")
    mocked.replace(responses.GET, f"{API}/tickets", status=429, headers={"Retry-After": "17"}, json={})
    with pytest.raises(HelpdeskUnavailable) as limited:
        tracker.find_ticket("k")
    assert limited.value.retry_after == 17


def test_4xx_is_refused_with_rts_message_on_one_line(offline):
    tracker, mocked = offline
    mocked.post(f"{API}/ticket/7/correspond", status=400,
                json={"message": "Permission Denied\nfor s3cret-pw user"})
    with pytest.raises(HelpdeskRefused) as refused:
        tracker.add_message("7", message("k-m1"))
    assert refused.value.reason == "RT refused POST /REST/2.0/ticket/7/correspond (400): Permission Denied for *** user"


def test_answers_that_are_not_rt(offline):
    tracker, mocked = offline
    mocked.get(f"{API}/tickets", status=200, body="<html>a login page</html>")
    with pytest.raises(HelpdeskRefused, match="not JSON: is RT_URL the address of Request Tracker 5"):
        tracker.find_ticket("k")
    mocked.replace(responses.GET, f"{API}/tickets", status=302, headers={"Location": "https://rt.example.test/x"})
    with pytest.raises(HelpdeskRefused, match="a redirect to /x: set RT_URL"):
        tracker.find_ticket("k")


def test_timeouts_are_unavailable(offline):
    tracker, mocked = offline
    mocked.get(f"{API}/tickets", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(HelpdeskUnavailable, match="did not answer GET /REST/2.0/tickets in time"):
        tracker.find_ticket("k")


def test_settings_that_cannot_work():
    with pytest.raises(ValueError, match="RT_USER and RT_PASSWORD, or RT_TOKEN"):
        RequestTracker("https://rt.example.test", user="gmail-connector")
    with pytest.raises(ValueError, match="must not hold credentials"):
        RequestTracker("https://u:p@rt.example.test", token="1-2-3")
    with pytest.raises(HelpdeskRefused, match="not an RT ticket number"):
        RequestTracker("https://rt.example.test", token="1-2-3").reopen("12; DROP", "k")
