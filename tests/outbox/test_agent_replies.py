"""Agents' answers written in the helpdesk are queued as Gmail replies, once each, from the last cursor on."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import Session, select

from connector.helpdesk.port import AgentReply, FileToDeliver, Person
from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskCursor
from connector.store.models import Ticket
from connector.store.outbound_models import OutgoingMail
from jobs.pull_agent_replies import pull_agent_replies
from tests.outbox.test_deliver_events import arrive, deliver, mail, world  # noqa: F401

AGENT = Person("Alice Agent", "alice@rt.example")


def answer(key: str, remote: str, body: str = "We have refunded you.", files=()) -> AgentReply:
    return AgentReply(key=key, remote_ticket_id=remote, ticket_key=None, author=AGENT, body_text=body,
                      created_at=datetime(2026, 4, 7, 12, 5, tzinfo=timezone.utc), attachments=tuple(files))


def queued(world) -> list[OutgoingMail]:
    with Session(world.engine) as session:
        return list(session.exec(select(OutgoingMail).order_by(OutgoingMail.id)))


def test_answers_before_the_first_round_are_not_sent_and_later_ones_are_sent_once(world):
    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    [remote] = world.helpdesk.tickets
    world.helpdesk.agent_answers(remote, answer("txn-1", remote, "old answer"))
    assert pull_agent_replies(world.runtime).queued == 0, "written before the connector was set up"
    world.helpdesk.agent_answers(remote, answer("txn-2", remote, files=[FileToDeliver("refund.pdf", "application/pdf",
                                                                                       b"%PDF")]))
    report = pull_agent_replies(world.runtime)
    assert (report.queued, report.keys) == (1, ["memory:txn-2"])
    [reply] = queued(world)
    assert (reply.ticket_id, reply.to_addresses, reply.body_text, reply.state) == (1, "ann@x.example",
                                                                                   "We have refunded you.", "queued")
    assert "refund.pdf" in reply.attachments and reply.in_reply_to == "m1@x" and reply.gmail_thread_id == "t1"
    assert pull_agent_replies(world.runtime).queued == 0 and len(queued(world)) == 1


def test_a_crash_after_queueing_but_before_the_cursor_moved_sends_nothing_twice(world):
    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    [remote] = world.helpdesk.tickets
    pull_agent_replies(world.runtime)
    world.helpdesk.agent_answers(remote, answer("txn-5", remote))
    pull_agent_replies(world.runtime)
    with session_scope(world.engine) as session:       # as if the cursor's commit had been lost
        session.get(HelpdeskCursor, "memory").cursor = "0"
    again = pull_agent_replies(world.runtime)
    assert (again.queued, again.already) == (0, 1), "read again, found already queued"
    assert len(queued(world)) == 1


def test_an_answer_that_cannot_be_sent_becomes_a_private_note_and_others_are_not_ours(world):
    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    [remote] = world.helpdesk.tickets
    pull_agent_replies(world.runtime)
    with session_scope(world.engine) as session:
        session.get(Ticket, 1).requester_email = ""
    world.helpdesk.agent_answers(remote, answer("txn-7", remote))
    world.helpdesk.agent_answers("999", answer("txn-8", "999"))
    report = pull_agent_replies(world.runtime)
    assert (report.queued, report.noted, report.skipped) == (0, 1, 1)
    [note] = queued(world)
    assert note.private and "cannot be sent through Gmail" in note.body_text and "no requester" in note.body_text


def test_a_helpdesk_that_is_down_moves_nothing(world):
    arrive(world, mail("m1@x"), 1, "t1")
    deliver(world)
    pull_agent_replies(world.runtime)
    world.helpdesk.down = "connection refused"
    assert pull_agent_replies(world.runtime).error == "connection refused"
    with Session(world.engine) as session:
        assert session.get(HelpdeskCursor, "memory").cursor == "0"
