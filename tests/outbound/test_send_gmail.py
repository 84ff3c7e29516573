"""Replies through Gmail end to end: the real adapter against the sandbox, a real SQLite store."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from connector.store.db import session_scope
from connector.store.models import Comment, Ticket
from connector.store.outbound import outbound_status, queue_reply
from connector.store.outbound_models import OutgoingMail
from jobs.send_reply import Outbound
from tests.outbound.conftest import (CUSTOMER, LATER, SUPPORT, customer_writes, only_ticket_id, outgoing, parsed,
                                     send, sent_records, sync, ticket)
from tests.sync.conftest import control, stats


def _ticket_from_customer(runtime, sandbox, **kwargs) -> tuple[int, str]:
    raw = customer_writes(**kwargs)
    sandbox.core.deliver(SUPPORT, raw)
    sync(runtime)
    ticket_id = only_ticket_id(runtime)
    return ticket_id, parsed({"raw": _b64(raw)})["Message-ID"].strip("<>")


def _b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).decode()


def _queue(runtime, ticket_id: int, body: str = "Hi Claire, please try again now.") -> OutgoingMail:
    with session_scope(runtime.engine) as session:
        return queue_reply(session, ticket_id, body, attachments_dir=runtime.settings.attachments_dir)


def _comments(runtime, ticket_id: int) -> list[Comment]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(Comment).where(Comment.ticket_id == ticket_id).order_by(Comment.id)))


def _ticket_count(runtime) -> int:
    with session_scope(runtime.engine) as session:
        return len(session.exec(select(Ticket.id)).all())


def test_reply_goes_out_in_the_ticket_thread_and_the_answer_reopens_the_ticket(runtime, sandbox):
    ticket_id, first_id = _ticket_from_customer(runtime, sandbox)
    row = _queue(runtime, ticket_id)

    report = send(runtime)

    assert (report.sent, report.errors) == (1, [])
    [record] = sent_records(sandbox)
    mail = parsed(record)
    assert (record["mailbox"], record["to"], record["status"]) == (SUPPORT, CUSTOMER, "delivered")
    assert record["threadId"] == ticket(runtime, ticket_id).gmail_thread_id, "sent in the ticket's Gmail thread"
    assert mail["From"] == SUPPORT and mail["To"] == CUSTOMER
    assert mail["Subject"] == "Re: Cannot log in"
    assert mail["In-Reply-To"] == f"<{first_id}>" and mail["References"] == f"<{first_id}>"
    assert mail["Message-ID"] == f"<{row.message_id}>"
    sent = outgoing(runtime, row.id)
    assert (sent.state, sent.transport, sent.sent_gmail_id) == ("sent", "gmail", record["id"])
    assert ticket(runtime, ticket_id).status == "pending", "waiting for the customer"
    ours = _comments(runtime, ticket_id)[-1]
    assert (ours.direction, ours.public, ours.message_id) == ("outbound", True, row.message_id)

    sync(runtime)                                 # our own sent mail comes back through history
    assert _ticket_count(runtime) == 1 and len(_comments(runtime, ticket_id)) == 2, "it creates nothing"

    # The customer's client keeps In-Reply-To only: our recorded Message-ID still finds the ticket.
    answer = customer_writes("Re: Cannot log in", "It works, thanks!", in_reply_to=f"<{row.message_id}>")
    sandbox.core.send(CUSTOMER, answer)
    sync(runtime)
    assert _ticket_count(runtime) == 1
    assert _comments(runtime, ticket_id)[-1].body_text.startswith("It works")
    assert ticket(runtime, ticket_id).status == "open", "the customer's answer reopens the ticket"


def test_an_automatic_reply_to_our_reply_neither_reopens_nor_answers(runtime, sandbox):
    ticket_id, _ = _ticket_from_customer(runtime, sandbox)
    row = _queue(runtime, ticket_id)
    send(runtime)
    sandbox.core.send(CUSTOMER, customer_writes("Automatic reply: Re: Cannot log in", "I am away until Monday.",
                                                in_reply_to=f"<{row.message_id}>", auto=True))
    sync(runtime)

    note = _comments(runtime, ticket_id)[-1]
    assert note.body_text.startswith("I am away") and note.public is False
    assert ticket(runtime, ticket_id).status == "pending"
    report = send(runtime, datetime.now(timezone.utc) + LATER)
    assert (report.sent, report.recovered) == (0, 0)
    ours = [r for r in sent_records(sandbox) if r["mailbox"] == SUPPORT]
    assert len(ours) == 1, "no message answers the auto-reply (no loop between helpdesks)"
    with session_scope(runtime.engine) as session:
        assert len(session.exec(select(OutgoingMail.id)).all()) == 1


class Killed(BaseException):
    """The process dying between Gmail's "sent" and our "recorded" (not an Exception: nothing catches it)."""


@pytest.mark.parametrize("crash", [RuntimeError("disk full"), Killed()], ids=["error", "killed"])
def test_a_crash_between_send_and_record_sends_exactly_once(runtime, sandbox, crash):
    ticket_id, _ = _ticket_from_customer(runtime, sandbox)
    row = _queue(runtime, ticket_id)
    now = datetime.now(timezone.utc)

    def crash_after_send(outgoing_id):
        raise crash

    if isinstance(crash, Killed):
        with pytest.raises(Killed):
            send(runtime, now, Outbound(after_send=crash_after_send))
        assert outgoing(runtime, row.id).state == "sending"
        assert send(runtime, now + timedelta(minutes=1)).recovered == 0, "still held by the dead process"
    else:
        assert send(runtime, now, Outbound(after_send=crash_after_send)).retrying == 1
        assert outgoing(runtime, row.id).state == "queued"
    assert len(sent_records(sandbox)) == 1

    report = send(runtime, now + LATER)

    assert (report.recovered, report.sent) == (1, 0)
    assert len(sent_records(sandbox)) == 1, "found in Sent mail by its Message-ID, not sent again"
    recovered = outgoing(runtime, row.id)
    assert (recovered.state, recovered.sent_gmail_id) == ("sent", sent_records(sandbox)[0]["id"])
    assert [c.message_id for c in _comments(runtime, ticket_id)][-1] == row.message_id
    assert ticket(runtime, ticket_id).status == "pending"


def test_a_transient_error_backs_off_then_sends_once(runtime, sandbox):
    ticket_id, _ = _ticket_from_customer(runtime, sandbox)
    row = _queue(runtime, ticket_id)
    control(sandbox, "faults", {"method": "messages.send", "status": 503, "times": 1})
    now = datetime.now(timezone.utc)

    report = send(runtime, now)

    assert report.retrying == 1 and "503" in report.errors[0]
    waiting = outgoing(runtime, row.id)
    assert waiting.state == "queued" and waiting.next_attempt_at > now and waiting.attempts == 1
    assert send(runtime, now).sent == 0, "not due before its backoff"
    assert send(runtime, now + LATER).sent == 1
    assert len(sent_records(sandbox)) == 1
    assert stats(sandbox)["calls"].get("messages.list", 0) >= 1, "looked for it in Sent mail before retrying"


def test_sending_cap_leaves_replies_waiting_and_shows_in_the_status(runtime, sandbox):
    ticket_id, _ = _ticket_from_customer(runtime, sandbox)
    sandbox.core.record_sends(SUPPORT, 2000)           # a Workspace mailbox at its daily cap
    first, second = _queue(runtime, ticket_id), _queue(runtime, ticket_id, "And one more thing.")
    now = datetime.now(timezone.utc)

    report = send(runtime, now)

    assert report.waiting_cap == 2 and report.failed == 0
    assert sent_records(sandbox) == []
    for row_id in (first.id, second.id):
        row = outgoing(runtime, row_id)
        assert row.state == "waiting_cap" and row.next_attempt_at > now + timedelta(hours=20)
        assert "sending limit" in row.last_error and row.attempts == 0
    assert stats(sandbox)["calls"].get("messages.send", 0) == 1, "the second reply waited without asking Gmail"
    with session_scope(runtime.engine) as session:
        status = outbound_status(session, now)
    assert status["by_state"]["waiting_cap"] == 2
    assert status["inboxes"][SUPPORT]["waiting_cap"] == 2 and status["inboxes"][SUPPORT]["daily_cap"] == 2000
    assert ticket(runtime, ticket_id).status != "pending", "nothing reached the customer yet"


def test_a_from_gmail_would_rewrite_is_refused_with_a_clear_error(runtime, sandbox):
    ticket_id, _ = _ticket_from_customer(runtime, sandbox)
    with session_scope(runtime.engine) as session:
        row = session.get(Ticket, ticket_id)
        row.received_at_address = "sales@masociete.com"    # neither this mailbox nor one of its send-as aliases
        session.add(row)
    queued = _queue(runtime, ticket_id)

    report = send(runtime)

    assert report.failed == 1 and sent_records(sandbox) == []
    failed = outgoing(runtime, queued.id)
    assert failed.state == "failed"
    assert "not a send-as address" in failed.last_error and "silently replace the From" in failed.last_error
