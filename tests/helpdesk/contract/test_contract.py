"""One contract, every destination: what a support team is promised whichever helpdesk it works in.

Customer mail synced into the store becomes exactly one ticket in the helpdesk with the right
requester, queue, messages and attachment bytes; a follow-up lands on the same ticket and an
auto-reply as an internal note; an answer lost between the helpdesk taking a request and our
commit (a crash, a timeout) duplicates nothing; the customer writing again reopens a solved
ticket; an agent's public answer is queued for Gmail exactly once, however often the helpdesk
calls, and an internal note never. Run against the real servers (built-in store, Request
Tracker, django-helpdesk, the signed webhook's receiver) and against stateful fakes of the
products that cannot run here, built from their public API references.
"""
from __future__ import annotations

import base64
import importlib
import uuid

import pytest
import requests
from sqlalchemy import update
from sqlmodel import Session, select

from connector.admin.app import create_app
from connector.admin.server import AdminServer
from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.helpdesk_models import HelpdeskEvent
from connector.store.inboxes import add_inbox
from connector.store.models import Inbox
from connector.store.outbound_models import OutgoingMail
from connector.store.raw import store_raw
from connector.store.types import utcnow
from connector.ticketing.ticket_mail import ticket_stored_mail
from jobs.deliver_events import deliver_events
from jobs.pull_agent_replies import pull_agent_replies
from tests.helpdesk.contract.destination import ApiAnswer

DESTINATIONS = ("builtin", "rt", "webhook", "django_helpdesk", "zendesk", "zammad", "freshdesk", "freescout")
INBOX = "support@shop.example"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
SECRET = "contract-webhook-secret"


class LosingSession(requests.Session):
    """Sends, then loses the answer of the next matching request that the helpdesk accepted: the
    crash (or timeout) after the helpdesk acted and before the connector recorded what it did."""

    def __init__(self):
        super().__init__()
        self.armed = False
        self.lost = 0

    def lose_next(self) -> None:
        """The next write (any method but GET) that succeeds."""
        self.armed = True

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        if self.armed and request.method != "GET" and 200 <= response.status_code < 300:
            self.armed, self.lost = False, self.lost + 1
            raise requests.ConnectionError("the connection dropped before the answer arrived")
        return response


class World:
    def __init__(self, destination, tmp_path):
        self.destination, self.session = destination, LosingSession()
        self.engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(self.engine)
        with session_scope(self.engine) as session:
            self.inbox_id = add_inbox(session, INBOX, group="Support").id
        settings = {"helpdesk_webhook_secret": SECRET, **destination.settings}
        self.settings = Settings(data_dir=tmp_path / "data", helpdesk=destination.name, admin_token="",
                                 helpdesk_queues=(("Support", destination.queue),),
                                 helpdesk_default_queue=destination.queue, **settings)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.runtime = Runtime(settings=self.settings, engine=self.engine,
                               helpdesk_factory=lambda _settings: destination.helpdesk(self.session))
        if hasattr(destination, "bind"):
            destination.bind(self.runtime)
        self.requester = f"ann-{uuid.uuid4().hex[:10]}@customer.example"
        self.server: AdminServer | None = None
        pull_agent_replies(self.runtime)     # a polled helpdesk's cursor starts now

    def arrive(self, subject: str, body: str, *, mid: str | None = None, reply_to: str | None = None,
               extra: str = "", attachment: tuple[str, bytes] | None = None) -> str:
        mid = mid or f"{uuid.uuid4().hex}@customer.example"
        raw = _mail(self.requester, subject, body, mid, reply_to, extra, attachment)
        with session_scope(self.engine) as session:
            raw_id = store_raw(session, "gmail", raw, inbox_id=self.inbox_id, gmail_id=uuid.uuid4().hex[:16],
                               thread_id="thread-" + (reply_to or mid)[:12], label_ids=("INBOX",),
                               received_at=utcnow()).id
        ticket_stored_mail(self.runtime.ticketing, raw_id)
        return mid

    def deliver(self, rounds: int = 4) -> None:
        """Delivery rounds until nothing is due; between rounds the backoff is cut short, as if it
        had passed (the clocks stay real: the helpdesk's timestamps and ours must agree)."""
        for _ in range(rounds):
            report = deliver_events(self.runtime)
            if not (report.delivered or report.waiting or report.unavailable or report.errors):
                break
            with session_scope(self.engine) as session:
                session.execute(update(HelpdeskEvent).where(HelpdeskEvent.state.in_(("queued", "delivering")))
                                .values(next_attempt_at=None, claimed_until=None))

    def tickets(self):
        return self.destination.tickets(self.requester)

    def agent_answers(self, remote_id: str, text: str, *, public: bool = True) -> None:
        said = self.destination.answer(remote_id, text, public=public)
        if isinstance(said, ApiAnswer):
            for _ in range(2):          # the caller retries after a lost answer, with the same key
                self.admin().post(f"/api/tickets/{said.ticket_id}/replies", headers={
                    "Idempotency-Key": said.idempotency_key}, json={"body": said.body, "private": said.private}
                ).raise_for_status()
            return
        for _ in range(2):              # helpdesks call again when unsure: the second call changes nothing
            if said is not None:
                path = "/helpdesk/events" + (f"/{said.path_secret}" if said.path_secret else "")
                headers = {k: v for k, v in said.headers.items() if k not in ("host", "content-length")}
                answer = self.admin().post(path, data=said.body, headers=headers)
                assert answer.status_code == 202, answer.text
            pull_agent_replies(self.runtime)

    def admin(self) -> "Admin":
        if self.server is None:
            self.server = AdminServer(create_app(self.runtime), "127.0.0.1", 0)
            self.server.start()
        return Admin(f"http://127.0.0.1:{self.server.port}")

    def queued_replies(self) -> list[OutgoingMail]:
        with Session(self.engine) as session:
            return list(session.exec(select(OutgoingMail).order_by(OutgoingMail.id)))

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.runtime.close()
        self.destination.close()
        self.engine.dispose()


class Admin(requests.Session):
    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.base + url, *args, timeout=(5, 30), **kwargs)


@pytest.fixture(params=DESTINATIONS)
def world(request, tmp_path):
    module = importlib.import_module(f"tests.helpdesk.contract.{request.param}_destination")
    world = World(module.make_destination(tmp_path), tmp_path)
    yield world
    world.close()


def only(items):
    assert len(items) == 1, items
    return items[0]


def test_a_customer_mail_becomes_one_ticket_with_requester_queue_body_and_attachment_bytes(world):
    world.arrive("Invoice 4417 charged twice", "Hello,\nI was charged twice for invoice 4417.",
                 attachment=("relevé de compte.pdf", PDF))
    world.deliver()
    ticket = only(world.tickets())
    assert ticket.subject == "Invoice 4417 charged twice"
    assert ticket.requester == world.requester
    assert str(ticket.queue) == str(world.destination.queue)
    first = ticket.messages[0]
    assert first.public and "charged twice for invoice 4417" in first.body
    assert first.files.get("relevé de compte.pdf") == PDF
    if world.destination.credits_customer:
        assert first.author == world.requester


def test_a_follow_up_lands_on_the_same_ticket_and_an_auto_reply_as_an_internal_note(world):
    first = world.arrive("Cannot log in", "The login page says my password is wrong.")
    world.deliver()
    world.arrive("Re: Cannot log in", "I reset it and it still fails.", reply_to=first)
    world.arrive("Re: Cannot log in", "I am out of the office until Monday.", reply_to=first,
                 extra="Auto-Submitted: auto-replied")
    world.deliver()
    ticket = only(world.tickets())
    bodies = [(m.public, m.body) for m in ticket.messages]
    assert any(public and "still fails" in body for public, body in bodies), bodies
    assert any(not public and "out of the office" in body for public, body in bodies), bodies
    assert sum("still fails" in body for _, body in bodies) == 1
    assert ticket.subject == "Cannot log in"    # a follow-up never renames the ticket


def test_an_answer_lost_after_the_helpdesk_took_it_makes_no_second_ticket_or_message(world):
    if not world.destination.loses_answers:
        pytest.skip(f"{world.destination.name} has no remote side to lose an answer from")
    world.session.lose_next()
    first = world.arrive("Refund for order 981", "Please refund order 981.")
    world.deliver()
    assert world.session.lost == 1
    world.arrive("Re: Refund for order 981", "Any news on the refund?", reply_to=first)
    world.session.lose_next()
    world.deliver()
    assert world.session.lost == 2
    ticket = only(world.tickets())
    assert sum("refund order 981" in m.body for m in ticket.messages) == 1
    assert sum("Any news on the refund" in m.body for m in ticket.messages) == 1


def test_the_customer_writing_again_reopens_a_solved_ticket(world):
    first = world.arrive("Printer offline", "Our printer is offline.")
    world.deliver()
    ticket = only(world.tickets())
    world.destination.solve(ticket.remote_id)
    solved = only(world.tickets()).status
    world.arrive("Re: Printer offline", "It is offline again.", reply_to=first)
    world.deliver()
    again = only(world.tickets())
    assert again.remote_id == ticket.remote_id
    assert again.status != solved


def test_an_agents_public_answer_is_queued_once_for_gmail_and_an_internal_note_never(world):
    world.arrive("Where is my parcel", "Tracking says nothing since Monday.")
    world.deliver()
    ticket = only(world.tickets())
    world.agent_answers(ticket.remote_id, "Internal: carrier lost it, reship.", public=False)
    world.agent_answers(ticket.remote_id, "Hello Ann, we are sending a new parcel today.")
    sent = [row for row in world.queued_replies() if row.state != "private"]
    assert [("new parcel" in row.body_text) for row in sent] == [True], [r.body_text for r in sent]
    assert not any("carrier lost it" in row.body_text for row in sent)


def _mail(sender: str, subject: str, body: str, mid: str, reply_to: str | None, extra: str,
          attachment: tuple[str, bytes] | None) -> bytes:
    from urllib.parse import quote
    head = (f"From: Ann Example <{sender}>\nTo: {INBOX}\nSubject: {subject}\nMessage-ID: <{mid}>\n"
            f"Date: Tue, 01 Dec 2026 10:00:00 +0000\n")
    if reply_to:
        head += f"In-Reply-To: <{reply_to}>\nReferences: <{reply_to}>\n"
    head += extra + ("\n" if extra else "")
    if attachment is None:
        text = head + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n"
    else:
        name, payload = attachment
        text = (f"{head}MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
                f"Content-Type: text/plain; charset=utf-8\n\n{body}\n--b\nContent-Type: application/pdf\n"
                f"Content-Disposition: attachment; filename*=utf-8''{quote(name)}\n"
                f"Content-Transfer-Encoding: base64\n\n{base64.encodebytes(payload).decode()}--b--\n")
    return text.replace("\n", "\r\n").encode("utf-8")
