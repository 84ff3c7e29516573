"""The helpdesk outbox: ticket changes queued in their own transaction, delivered in order, exactly once."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from connector.settings import Settings
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.helpdesk_models import HelpdeskEvent, HelpdeskTicket
from connector.store.helpdesk_outbox import CLAIM_SECONDS, retry_event
from connector.store.inboxes import add_inbox
from connector.store.models import Inbox, Ticket
from connector.store.raw import store_raw
from connector.ticketing.reader import InlineReader
from connector.ticketing.ticket_mail import Ticketing, ticket_stored_mail
from jobs.deliver_events import INTERNAL_ATTEMPTS, deliver_events
from connector.helpdesk.port import Delivered
from tests.outbox.memory_helpdesk import CrashAfterSending, MemoryHelpdesk, RemoteTicket

START = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)
INBOX = "help@shop.example"


class Clock:
    def __init__(self):
        self.at = START

    def __call__(self):
        return self.at

    def advance(self, seconds: float):
        self.at += timedelta(seconds=seconds)


def mail(mid: str, *, sender="Ann <ann@x.example>", subject="Help", extra="", body="Hi",
         attachment: tuple[str, bytes] | None = None) -> bytes:
    head = f"From: {sender}\nTo: {INBOX}\nSubject: {subject}\nMessage-ID: <{mid}>\n{extra}".strip()
    if attachment is None:
        return (head + "\n\n" + body + "\n").replace("\n", "\r\n").encode()
    name, payload = attachment
    parts = (f"{head}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
             f"Content-Type: text/plain\n\n{body}\n--b\nContent-Type: application/pdf\n"
             f"Content-Disposition: attachment; filename*=utf-8''{quote(name)}\nContent-Transfer-Encoding: base64\n\n"
             f"{base64.b64encode(payload).decode()}\n--b--\n")
    return parts.replace("\n", "\r\n").encode()


@pytest.fixture
def world(database_url, tmp_path):
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        add_inbox(session, INBOX, group="Billing")
    clock, helpdesk = Clock(), MemoryHelpdesk()
    settings = Settings(data_dir=tmp_path, helpdesk="rt", helpdesk_queues=(("Billing", "Money"),),
                        helpdesk_attach_original=True)
    ticketing = Ticketing(engine=engine, reader=InlineReader(), attachments_dir=settings.attachments_dir,
                          attachment_max_bytes=1 << 20, now=clock, outbox=True)
    runtime = SimpleNamespace(engine=engine, settings=settings, helpdesk=helpdesk)
    yield SimpleNamespace(engine=engine, clock=clock, helpdesk=helpdesk, ticketing=ticketing, runtime=runtime)
    engine.dispose()


def arrive(world, raw: bytes, n: int, thread: str):
    with session_scope(world.engine) as session:
        inbox_id = session.exec(select(Inbox.id).where(Inbox.address == INBOX)).one()
        raw_id = store_raw(session, "gmail", raw, inbox_id=inbox_id, gmail_id=f"g{n}", thread_id=thread,
                           label_ids=("INBOX",), received_at=world.clock()).id
    return ticket_stored_mail(world.ticketing, raw_id)


def deliver(world):
    return deliver_events(world.runtime, now=world.clock)


def events(world) -> list[tuple[str, str]]:
    with Session(world.engine) as session:
        return [(e.kind, e.state) for e in session.exec(select(HelpdeskEvent).order_by(HelpdeskEvent.id))]


def test_a_conversation_reaches_the_helpdesk_as_one_ticket_in_order(world):
    arrive(world, mail("m1@x", attachment=("facture-été.pdf", b"%PDF-1.4 bytes")), 1, "t1")
    arrive(world, mail("m2@x", extra="In-Reply-To: <m1@x>", body="More details"), 2, "t1")
    arrive(world, mail("m3@x", sender="Ann <ann@x.example>", extra="Auto-Submitted: auto-replied",
                       subject="Out of office"), 3, "t1")
    with session_scope(world.engine) as session:
        session.get(Ticket, 1).status = "solved"
    arrive(world, mail("m4@x", extra="In-Reply-To: <m2@x>", body="It broke again"), 4, "t1")
    # Every customer answer asks the helpdesk to reopen: only the helpdesk knows whether it was solved.
    assert [kind for kind, _ in events(world)] == ["ticket.created", "comment.added", "ticket.reopened", "note.added",
                                                   "comment.added", "ticket.reopened"]

    report = deliver(world)

    assert report.delivered == 6 and events(world) == [(k, "delivered") for k, _ in events(world)]
    [remote] = world.helpdesk.tickets.values()
    assert (remote.requester, remote.queue, remote.status) == ("ann@x.example", "Money", "open")
    assert [(m.body_text.splitlines()[0], m.public) for m in remote.messages] == [
        ("Hi", True), ("More details", True), ("Hi", False), ("It broke again", True)]
    first = remote.messages[0]
    assert [(f.filename, f.content_type, f.payload) for f in first.attachments] == [
        ("facture-été.pdf", "application/pdf", b"%PDF-1.4 bytes"),
        ("original.eml", "message/rfc822", mail("m1@x", attachment=("facture-été.pdf", b"%PDF-1.4 bytes")))]
    with Session(world.engine) as session:
        [link] = session.exec(select(HelpdeskTicket)).all()
    assert (link.ticket_id, link.remote_id, link.destination) == (1, remote.id, "memory")
    assert deliver(world).delivered == 0, "nothing is sent twice"


def test_held_back_mail_is_never_delivered(world):
    arrive(world, mail("bounce@x", sender="MAILER-DAEMON <mailer-daemon@x.example>", subject="Undelivered",
                       extra="Auto-Submitted: auto-replied"), 1, "t9")
    assert events(world) == [] and deliver(world).delivered == 0 and world.helpdesk.tickets == {}


def test_the_builtin_store_queues_nothing(world):
    builtin = Ticketing(engine=world.engine, reader=InlineReader(), attachments_dir=world.ticketing.attachments_dir,
                        attachment_max_bytes=1 << 20, now=world.clock)
    object.__setattr__(world, "ticketing", builtin)
    arrive(world, mail("m1@x"), 1, "t1")
    assert events(world) == []


def test_a_helpdesk_down_for_an_hour_loses_nothing_and_sends_everything_once(world):
    world.helpdesk.down = "connection refused"
    arrive(world, mail("m1@x"), 1, "t1")
    arrive(world, mail("m2@x", extra="In-Reply-To: <m1@x>"), 2, "t1")
    arrive(world, mail("other@x", sender="Bob <bob@y.example>", subject="Other"), 3, "t2")
    for _ in range(60):
        calls = len(world.helpdesk.calls)
        assert deliver(world).delivered == 0
        assert len(world.helpdesk.calls) - calls <= 1, "a round stops at the first sign the helpdesk is down"
        world.clock.advance(60)
    # Each event backs off (10 s doubling to 15 min): two tickets' events, far fewer tries than rounds.
    assert len(world.helpdesk.calls) <= 2 * 12, world.helpdesk.calls
    with Session(world.engine) as session:
        assert "connection refused" in session.get(HelpdeskEvent, 1).last_error
    world.helpdesk.down = None
    world.clock.advance(15 * 60)
    assert deliver(world).delivered == 4          # the follow-up's reopen included
    assert sorted(len(t.messages) for t in world.helpdesk.tickets.values()) == [1, 2]


def test_429_retry_after_is_honoured(world):
    world.helpdesk.down, world.helpdesk.retry_after = "429 Too Many Requests", 600
    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    world.helpdesk.down = None
    world.clock.advance(300)
    assert deliver(world).delivered == 0, "Retry-After said ten minutes"
    world.clock.advance(301)
    assert deliver(world).delivered == 1


def test_a_refused_event_is_parked_and_holds_back_only_its_ticket(world):
    world.helpdesk.refuse_subjects = {"Refused"}
    arrive(world, mail("m1@x", subject="Refused"), 1, "t1")
    arrive(world, mail("m2@x", subject="Refused", extra="In-Reply-To: <m1@x>"), 2, "t1")
    arrive(world, mail("other@x", sender="Bob <bob@y.example>", subject="Fine"), 3, "t2")
    report = deliver(world)
    assert (report.parked, report.delivered) == (1, 1)
    assert events(world) == [("ticket.created", "failed"), ("comment.added", "queued"), ("ticket.reopened", "queued"),
                             ("ticket.created", "delivered")]
    with Session(world.engine) as session:
        assert "refused: queue Money" in session.get(HelpdeskEvent, 1).last_error
    world.helpdesk.refuse_subjects = set()
    with session_scope(world.engine) as session:
        retry_event(session, 1)
    assert deliver(world).delivered == 3
    assert sorted(len(t.messages) for t in world.helpdesk.tickets.values()) == [1, 2]


@pytest.mark.parametrize("step", ["open_ticket", "add_message"])
def test_a_crash_between_the_helpdesks_answer_and_our_record_duplicates_nothing(world, step):
    arrive(world, mail("m1@x"), 1, "t1")
    if step == "add_message":
        deliver(world)
        arrive(world, mail("m2@x", extra="In-Reply-To: <m1@x>"), 2, "t1")
    world.helpdesk.crash_after_next_send = True
    with pytest.raises(CrashAfterSending):
        deliver(world)
    crashed = "ticket.created" if step == "open_ticket" else "comment.added"
    assert [state for kind, state in events(world) if kind == crashed][-1] == "delivering"
    assert deliver(world).delivered == 0, "still claimed by the dead deliverer"
    world.clock.advance(CLAIM_SECONDS + 1)
    calls = len(world.helpdesk.calls)
    assert deliver(world).delivered == (1 if step == "open_ticket" else 2)     # the follow-up's reopen after it
    [remote] = world.helpdesk.tickets.values()
    assert len(remote.messages) == (1 if step == "open_ticket" else 2)
    assert world.helpdesk.calls[calls] in ("find_ticket", "find_message"), "looked up, not sent again"


def test_our_own_failure_retries_then_parks(world, tmp_path):
    arrive(world, mail("m1@x", attachment=("a.pdf", b"bytes")), 1, "t1")
    for path in world.ticketing.attachments_dir.rglob("*"):
        if path.is_file():
            path.unlink()                      # the store lost the file
    for _ in range(INTERNAL_ATTEMPTS):
        report = deliver(world)
        world.clock.advance(3600)
    assert report.parked == 1 and "FileNotFoundError" in report.errors[-1]
    assert events(world) == [("ticket.created", "failed")]


def test_a_ticket_from_before_the_outbox_opens_with_the_comment_that_follows(world):
    builtin = Ticketing(engine=world.engine, reader=InlineReader(), attachments_dir=world.ticketing.attachments_dir,
                        attachment_max_bytes=1 << 20, now=world.clock)
    with_outbox = world.ticketing
    object.__setattr__(world, "ticketing", builtin)
    arrive(world, mail("m1@x"), 1, "t1")
    object.__setattr__(world, "ticketing", with_outbox)
    arrive(world, mail("m2@x", extra="In-Reply-To: <m1@x>", body="Second"), 2, "t1")
    assert deliver(world).delivered == 2          # the ticket opened with it, then the reopen (a no-op)
    [remote] = world.helpdesk.tickets.values()
    assert [m.body_text.splitlines()[0] for m in remote.messages] == ["Second"]


def test_the_ticket_shows_its_helpdesk_id_and_link(world):
    from connector.store.queries import ticket_detail

    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    with Session(world.engine) as session:
        detail = ticket_detail(session, 1)
    [remote] = world.helpdesk.tickets.values()
    assert detail["helpdesk"] == [{"destination": "memory", "id": remote.id,
                                   "url": f"https://helpdesk.example/t/{remote.id}"}]


def test_the_dashboard_links_each_delivered_ticket_to_the_helpdesk(world):
    from connector.admin.render import _ticket_table
    from connector.store.page_queries import recent_ticket_rows

    arrive(world, mail("m1@x"), 1, "t1")
    arrive(world, mail("m2@x", sender="Bob <bob@y.example>", subject="Other"), 2, "t2")
    world.helpdesk.refuse_subjects = {"Other"}
    deliver(world)
    with Session(world.engine) as session:
        rows = recent_ticket_rows(session, 10)
    html = _ticket_table(rows, START, 2)
    [remote] = world.helpdesk.tickets
    assert f'<a href="https://helpdesk.example/t/{remote}" rel="noopener noreferrer">memory #{remote}</a>' in html
    assert html.count("<a href=") == 1, "the refused ticket has no link"


def test_a_claim_left_by_a_killed_process_is_taken_again_at_once_on_sqlite(world):
    from connector.store.helpdesk_outbox import release_dead_claims

    arrive(world, mail("m1@x"), 1, "t1")
    world.helpdesk.crash_after_next_send = True
    with pytest.raises(CrashAfterSending):
        deliver(world)
    with session_scope(world.engine) as session:
        assert release_dead_claims(session, world.clock(), lambda claimer: False) == 0
        session.get(HelpdeskEvent, 1).claimed_by = "this-host:999999999:deadbeef.0"   # as a killed daemon left it
    with session_scope(world.engine) as session:
        assert release_dead_claims(session, world.clock(), lambda claimer: claimer.startswith("this-host:")) == 1
    assert deliver(world).delivered == 1 and len(world.helpdesk.tickets) == 1


def test_refused_credentials_keep_every_event_waiting_with_the_fix_shown(world):
    from connector.admin.helpdesk_view import helpdesk_status
    from connector.helpdesk.port import CredentialsRefused

    arrive(world, mail("m1@x"), 1, "t1")

    def refuse(ticket):
        raise CredentialsRefused("RT refused the credentials of RT_USER gmail-connector (401): Unauthorized")

    world.helpdesk.open_ticket = refuse
    report = deliver(world)
    assert report.parked == 0 and report.waiting == 1 and events(world) == [("ticket.created", "queued")]
    with Session(world.engine) as session:
        status = helpdesk_status(session, world.runtime.settings, world.clock())
    assert "401" in status["last_error"] and "RT_PASSWORD" in status["fix"]


class ClosingHelpdesk(MemoryHelpdesk):
    """Takes nothing more on a closed ticket: a message for it opens a follow-up ticket (as Zendesk does)."""

    def add_message(self, remote_ticket_id, message):
        if self.tickets[remote_ticket_id].status != "closed":
            return super().add_message(remote_ticket_id, message)
        closed = self.tickets[remote_ticket_id]
        follow_up = RemoteTicket(id=str(100 + len(self.tickets)), key=message.key, subject=closed.subject,
                                 requester=closed.requester, queue=closed.queue, cc=[], messages=[message])
        self.tickets[follow_up.id] = follow_up
        return Delivered(follow_up.id, f"{follow_up.id}/1")

    def reopen(self, remote_ticket_id, key):
        if self.tickets[remote_ticket_id].status != "closed":
            super().reopen(remote_ticket_id, key)


def test_a_message_that_opened_a_follow_up_ticket_moves_the_conversation_there(world):
    closing = ClosingHelpdesk()
    world.runtime.helpdesk = closing
    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    [first] = closing.tickets
    closing.tickets[first].status = "closed"
    arrive(world, mail("m2@x", extra="In-Reply-To: <m1@x>", body="Broken again"), 2, "t1")
    arrive(world, mail("m3@x", extra="In-Reply-To: <m2@x>", body="Still broken"), 3, "t1")
    deliver(world)
    follow_up = next(t for t in closing.tickets.values() if t.id != first)
    assert [m.body_text.splitlines()[0] for m in follow_up.messages] == ["Broken again", "Still broken"]
    assert (follow_up.status, closing.tickets[first].status) == ("open", "closed")
    with Session(world.engine) as session:
        [link] = session.exec(select(HelpdeskTicket)).all()
    assert link.remote_id == follow_up.id
