"""POST /helpdesk/events: a helpdesk's webhook marks tickets, the replies job reads them back, each answer once."""
from __future__ import annotations

import hmac
from datetime import datetime, timezone

import pytest
import requests
from sqlmodel import Session, select

from connector.admin.app import create_app
from connector.admin.server import AdminServer
from connector.helpdesk.port import AgentReply, EventRefused, Person, WebhookCall
from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.outbound_models import OutgoingMail
from jobs.pull_agent_replies import pull_agent_replies
from tests.outbox.memory_helpdesk import MemoryHelpdesk
from tests.outbox.test_deliver_events import arrive, deliver, mail, world  # noqa: F401

SECRET = "s3cret-for-the-events-route"
AGENT = Person("Alice Agent", "alice@desk.example")


class CallingHelpdesk(MemoryHelpdesk):
    """A helpdesk whose webhook calls /helpdesk/events/SECRET with {"ticket": id}, and whose API lists answers."""

    def __init__(self) -> None:
        super().__init__()
        self.by_ticket: dict[str, list[AgentReply]] = {}
        self.reads = 0

    def tickets_in_event(self, call: WebhookCall) -> list[str]:
        if not call.path_secret or not hmac.compare_digest(call.path_secret, SECRET):
            raise EventRefused("the secret in the webhook URL is not HELPDESK_WEBHOOK_SECRET")
        import json
        return [str(json.loads(call.body)["ticket"])]

    def ticket_replies(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        self._gate("ticket_replies")
        self.reads += 1
        return [r for r in self.by_ticket.get(remote_ticket_id, []) if r.created_at >= since]

    def write(self, remote: str, key: str, body: str, at: datetime) -> None:
        self.by_ticket.setdefault(remote, []).append(
            AgentReply(key=key, remote_ticket_id=remote, ticket_key=None, author=AGENT, body_text=body, created_at=at))


@pytest.fixture
def calling(world):  # noqa: F811
    helpdesk = CallingHelpdesk()
    world.helpdesk = world.runtime.helpdesk = helpdesk
    world.runtime.settings = type(world.runtime.settings)(**{**world.runtime.settings.__dict__, "admin_token": ""})
    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    [remote] = helpdesk.tickets
    server = AdminServer(create_app(world.runtime), "127.0.0.1", 0)
    server.start()
    yield world, helpdesk, remote, f"http://127.0.0.1:{server.port}"
    server.stop()


def queued(world) -> list[OutgoingMail]:
    with Session(world.engine) as session:
        return list(session.exec(select(OutgoingMail).order_by(OutgoingMail.id)))


def wanted(world) -> list:
    with Session(world.engine) as session:
        return [row.replies_wanted_at for row in session.exec(select(HelpdeskTicket))]


def post(base: str, path: str, body: bytes) -> requests.Response:
    return requests.post(base + path, data=body, timeout=5, headers={"Content-Type": "application/json"})


def test_a_call_marks_the_ticket_and_the_answer_is_queued_once_however_often_it_calls(calling):
    world, helpdesk, remote, base = calling
    helpdesk.write(remote, "c-1", "We have refunded you.", datetime.now(timezone.utc))
    for _ in range(3):
        answer = post(base, f"/helpdesk/events/{SECRET}", b'{"ticket": "%s"}' % remote.encode())
        assert (answer.status_code, answer.json()) == (202, {"marked": 1, "unknown": 0})
        pull_agent_replies(world.runtime)
    assert [(r.body_text, r.source_key) for r in queued(world)] == [("We have refunded you.", "memory:c-1")]
    assert wanted(world) == [None], "the mark is cleared by the round that read it"
    assert pull_agent_replies(world.runtime).tickets_read == 0, "no call, no read"


def test_a_call_without_the_secret_is_refused_and_marks_nothing(calling):
    world, helpdesk, remote, base = calling
    for path in ("/helpdesk/events", "/helpdesk/events/wrong-secret"):
        answer = post(base, path, b'{"ticket": "%s"}' % remote.encode())
        assert answer.status_code == 401 and "HELPDESK_WEBHOOK_SECRET" in answer.json()["detail"]
        assert SECRET not in answer.text
    assert wanted(world) == [None]


def test_a_ticket_the_connector_did_not_open_is_counted_and_ignored(calling):
    world, helpdesk, remote, base = calling
    answer = post(base, f"/helpdesk/events/{SECRET}", b'{"ticket": "walk-in-77"}')
    assert answer.json() == {"marked": 0, "unknown": 1}


def test_an_unreachable_helpdesk_keeps_the_mark_until_it_can_be_read(calling):
    world, helpdesk, remote, base = calling
    helpdesk.write(remote, "c-2", "Fixed.", datetime.now(timezone.utc))
    post(base, f"/helpdesk/events/{SECRET}", b'{"ticket": "%s"}' % remote.encode())
    helpdesk.down = "connection refused"
    report = pull_agent_replies(world.runtime)
    assert report.error == "connection refused" and wanted(world) != [None] and queued(world) == []
    helpdesk.down = None
    assert pull_agent_replies(world.runtime).queued == 1 and wanted(world) == [None]


def test_a_call_during_the_read_keeps_the_ticket_marked_for_the_next_round(calling):
    world, helpdesk, remote, base = calling
    original = helpdesk.ticket_replies

    def read_while_called_again(remote_id, since):
        found = original(remote_id, since)
        post(base, f"/helpdesk/events/{SECRET}", b'{"ticket": "%s"}' % remote.encode())   # a newer answer
        return found

    post(base, f"/helpdesk/events/{SECRET}", b'{"ticket": "%s"}' % remote.encode())
    helpdesk.ticket_replies = read_while_called_again
    pull_agent_replies(world.runtime)
    assert wanted(world) != [None], "the second call's answer may be newer than the read"
    helpdesk.ticket_replies = original
    pull_agent_replies(world.runtime)
    assert wanted(world) == [None]


def test_a_helpdesk_without_webhooks_answers_404(world):  # noqa: F811
    world.runtime.settings = type(world.runtime.settings)(**{**world.runtime.settings.__dict__, "admin_token": ""})
    server = AdminServer(create_app(world.runtime), "127.0.0.1", 0)
    server.start()
    try:
        answer = post(f"http://127.0.0.1:{server.port}", "/helpdesk/events/x", b"{}")
        assert answer.status_code == 404
    finally:
        server.stop()


def test_an_oversized_call_is_refused_unread(calling):
    world, helpdesk, remote, base = calling
    answer = post(base, f"/helpdesk/events/{SECRET}", b"x" * (2 << 20))
    assert answer.status_code == 413


def test_an_answer_whose_webhook_call_was_lost_goes_out_after_the_sweep_once(calling):
    from datetime import timedelta

    from jobs.sweep_agent_replies import SWEEP_DAYS, sweep_agent_replies
    world, helpdesk, remote, base = calling
    helpdesk.write(remote, "c-7", "Sorry for the wait: fixed.", datetime.now(timezone.utc))   # no call came
    assert pull_agent_replies(world.runtime).queued == 0
    assert sweep_agent_replies(world.runtime, now=world.clock) == 1
    assert sweep_agent_replies(world.runtime, now=world.clock) == 0, "already marked"
    assert pull_agent_replies(world.runtime).queued == 1
    assert sweep_agent_replies(world.runtime, now=world.clock) == 1
    assert pull_agent_replies(world.runtime).queued == 0, "sent once"
    later = world.clock() + timedelta(days=SWEEP_DAYS + 1)
    assert sweep_agent_replies(world.runtime, now=lambda: later) == 0, "a ticket quiet for a week is left alone"
