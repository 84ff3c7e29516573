"""Agents' replies read back from a real RT 5 (scripts/start-rt.sh): root writes them, the adapter finds them.

RT is shared across tests and runs, so every test starts from a cursor taken at its beginning and
only looks at the tickets it made. The tests at the end need no RT.
"""
from __future__ import annotations

import json
from typing import Iterator

import pytest
import requests
import responses

from connector.helpdesk.port import CredentialsRefused, HelpdeskUnavailable, Person
from connector.helpdesk.rt import RequestTracker
from tests.helpdesk.conftest import OFFLINE_API as API
from tests.helpdesk.test_rt import PDF, message, new_ticket

ROOT = Person("Enoch Root", "root@localhost")
TIMEOUT = (5, 30)


class Agent:
    """RT's root user writing in RT as an agent does, through REST 2.0 or the web UI."""

    def __init__(self, url: str):
        self.url, self.api = url.rstrip("/"), url.rstrip("/") + "/REST/2.0"
        self.session = requests.Session()
        self.session.auth = ("root", "password")

    def write(self, ticket: str, kind: str, content: str, content_type: str = "text/plain",
              files: tuple[tuple[str, bytes, str], ...] = ()) -> str:
        """correspond or comment as multipart/form-data (UTF-8 file names survive); the transaction id."""
        parts = [("JSON", (None, json.dumps({"Content": content, "ContentType": content_type}), "application/json")),
                 *(("Attachments", file) for file in files)]
        response = self.session.post(f"{self.api}/ticket/{ticket}/{kind}", files=parts, timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        return response.headers["Location"].rstrip("/").rpartition("/")[2]

    def open_ticket(self, subject: str) -> str:
        """A ticket made in RT itself: no Gmail-Connector-Key."""
        response = self.session.post(f"{self.api}/ticket", timeout=TIMEOUT, json={
            "Queue": "General", "Subject": subject, "Requestor": "walk-in@example.org",
            "Content": "Phoned in.", "ContentType": "text/plain"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def reply_in_web_ui(self, ticket: str, content: str, cc: str, bcc: str) -> None:
        web = requests.Session()
        try:
            web.post(f"{self.url}/NoAuth/Login.html", data={"user": "root", "pass": "password"},
                     timeout=TIMEOUT).raise_for_status()
            page = web.post(f"{self.url}/Ticket/Update.html", timeout=TIMEOUT,
                            headers={"Referer": f"{self.url}/Ticket/Update.html"},   # RT's CSRF check
                            data={"id": ticket, "Action": "Respond", "UpdateType": "response",
                                  "UpdateContent": content, "UpdateCc": cc, "UpdateBcc": bcc,
                                  "SubmitTicket": "Update Ticket"})
            assert "Correspondence added" in page.text
        finally:
            web.close()


@pytest.fixture(scope="module")
def agent(rt_server) -> Iterator[Agent]:
    root = Agent(rt_server.url)
    yield root
    root.session.close()


def now(rt: RequestTracker) -> str:
    replies, cursor = rt.agent_replies(None)
    assert replies == [] and cursor.isdigit()
    return cursor


def on(replies, *tickets: str):
    return [reply for reply in replies if reply.remote_ticket_id in tickets]


def test_first_call_returns_the_cursor_of_now_and_no_earlier_answer(rt, agent, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    before = agent.write(number, "correspond", "Written before the connector was set up.")
    replies, cursor = rt.agent_replies(None)
    assert replies == [] and int(cursor) >= int(before)
    assert on(rt.agent_replies(cursor)[0], number) == []


def test_an_agents_correspondence_with_a_file_and_not_the_comment(rt, agent, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    start = now(rt)
    txn = agent.write(number, "correspond", "Bonjour Zoë,\nc'est corrigé.",
                      files=(("relevé-été.pdf", PDF, "application/pdf"),))
    agent.write(number, "comment", "Internal: she was overcharged.", files=(("notes.txt", b"x", "text/plain"),))

    replies, cursor = rt.agent_replies(start)
    [reply] = on(replies, number)
    assert reply.key == f"txn-{txn}" and reply.remote_ticket_id == number and reply.ticket_key == f"{key}-t"
    assert reply.author == ROOT
    assert reply.body_text == "Bonjour Zoë,\nc'est corrigé."
    assert [(f.filename, f.content_type, f.payload, f.inline) for f in reply.attachments] == [
        ("relevé-été.pdf", "application/pdf", PDF, False)]
    assert reply.cc == ()
    assert reply.created_at.tzinfo is not None and reply.created_at.utcoffset().total_seconds() == 0
    assert int(cursor) >= int(txn)
    assert on(rt.agent_replies(cursor)[0], number) == []          # the same cursor again: nothing new


def test_the_connectors_own_correspondence_is_not_returned(rt, rt_server, rt_token, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    start = now(rt)
    own = rt.add_message(number, message(f"{key}-m2", text="The customer writes again."))
    by_token = RequestTracker(rt_server.url, token=rt_token)
    try:
        for tracker in (rt, by_token):                             # a token is the same RT user
            replies, _ = tracker.agent_replies(start)
            assert on(replies, number) == [] and own.remote_item_id not in {r.key[4:] for r in replies}
    finally:
        by_token.close()


def test_a_ticket_made_in_rt_itself_is_skipped_and_the_cursor_moves_past_it(rt, agent):
    number = agent.open_ticket("Phone call, not from Gmail")
    start = now(rt)
    txn = agent.write(number, "correspond", "We called you back.")
    replies, cursor = rt.agent_replies(start)
    assert on(replies, number) == []
    assert int(cursor) >= int(txn)


def test_an_html_answer_comes_back_as_text(rt, agent, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    start = now(rt)
    agent.write(number, "correspond", "<p>Hello <b>Zoë</b>,</p><p>it&#39;s fixed &amp; done.</p>"
                                      "<script>alert(1)</script><ul><li>one</li><li>two</li></ul>", "text/html")
    [reply] = on(rt.agent_replies(start)[0], number)
    assert reply.body_text == "Hello Zoë,\n\nit's fixed & done.\n\none\n\ntwo"


def test_one_time_cc_from_the_web_ui_and_never_the_bcc(rt, agent, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    start = now(rt)
    agent.reply_in_web_ui(number, "Copying accounting.", cc='extra.cc@example.org, "Ann" <Ann@Example.org>',
                          bcc="secret.bcc@example.org")
    [reply] = on(rt.agent_replies(start)[0], number)
    assert reply.body_text == "Copying accounting."
    assert reply.cc == (Person("", "extra.cc@example.org"), Person("", "ann@example.org"))


def test_limit_and_paging_with_the_cursor(rt, agent, key):
    number = rt.open_ticket(new_ticket(f"{key}-t")).remote_ticket_id
    start = now(rt)
    txns = [agent.write(number, "correspond", f"Answer {n}") for n in (1, 2, 3)]
    first, cursor = rt.agent_replies(start, limit=2)
    assert [r.key for r in first] == [f"txn-{t}" for t in txns[:2]] and cursor == txns[1]
    rest, cursor = rt.agent_replies(cursor, limit=2)
    assert [r.body_text for r in on(rest, number)] == ["Answer 3"]
    assert on(rt.agent_replies(cursor, limit=2)[0], number) == []


# No RT needed below: RT's answers, simulated.

# The `offline` fixture (tests/helpdesk/conftest.py): RequestTracker against `responses`, at API.


def test_rt_down_is_unavailable_and_refusals_are_refused(offline):
    tracker, mocked = offline
    mocked.get(f"{API}/transactions", status=503, body="Service Unavailable")
    with pytest.raises(HelpdeskUnavailable, match="RT answered 503 to GET /REST/2.0/transactions"):
        tracker.agent_replies("10")
    with pytest.raises(HelpdeskUnavailable):
        tracker.agent_replies(None)
    mocked.replace(responses.GET, f"{API}/transactions", status=401, json={"message": "Unauthorized"})
    with pytest.raises(CredentialsRefused, match="refused the credentials"):
        tracker.agent_replies("10")


def test_a_cursor_that_is_not_ours_is_a_bug():
    tracker = RequestTracker("http://rt.example.test/", token="1-2-3")
    with pytest.raises(ValueError, match="not an RT transaction cursor"):
        tracker.agent_replies("10; DROP")
    with pytest.raises(ValueError, match="limit"):
        tracker.agent_replies("10", limit=0)


def test_keyed_messages_and_customers_are_skipped_whatever_rt_says(offline):
    """Belt and braces: a message carrying our message key is ours even if RT named another creator,
    and an unprivileged user's correspondence (RT's self-service) is no agent's answer."""
    tracker, mocked = offline
    keyed = [{"name": "Gmail-Connector-Message-Key", "values": ["gmc-x-m2"]}]
    mocked.get(f"{API}/transactions", json={"items": [
        {"id": "11", "ObjectId": "5", "Creator": {"id": "root"}, "Created": "2026-12-01T13:24:36Z",
         "CustomFields": keyed},
        {"id": "12", "ObjectId": "5", "Creator": {"id": "zoe@example.org"}, "Created": "2026-12-01T13:25:00Z"}]})
    mocked.get(f"{API}/ticket/5", json={"id": 5, "CustomFields": [{"name": "Gmail-Connector-Key", "values": ["k"]}]})
    mocked.get(f"{API}/user/zoe@example.org", json={"Name": "zoe@example.org", "EmailAddress": "zoe@example.org",
                                                    "RealName": "Zoë", "Privileged": 0})
    assert tracker.agent_replies("10") == ([], "12")
