"""The batch path's store work: rows read and locked once, marked in one statement, no check made twice."""
from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from connector.mail.decision import CreateTicket, NewComment
from connector.mail.model import Address
from connector.store.db import session_scope
from connector.store.inboxes import add_inbox
from connector.store.models import RawMail, Ticket, TicketThread
from connector.store.raw import mark_mail_processed, pending_mails, store_raw
from connector.store.tickets import carry_out

from .conftest import NOW

ANN = Address("Ann", "Ann@Example.com")


def _create(message_id: str) -> CreateTicket:
    return CreateTicket(subject="Help", requester=ANN, group="Support", received_at_address="help@example.com",
                        comment=NewComment(author=ANN, body_text="hi", body_html=None, public=True,
                                           message_id=message_id))


def _statements(session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: seen.append(statement.split()[0].upper()))
    return seen


def test_pending_mails_are_the_rows_asked_for_in_any_state(session, raw_mail):
    first, second = raw_mail(gmail_id="g1", thread_id="t1"), raw_mail()
    second.state = "processed"
    session.flush()
    found = pending_mails(session.connection(), [first.id, second.id, second.id + 100])
    assert sorted(found) == [first.id, second.id]
    assert (found[first.id].state, found[first.id].gmail_thread_id) == ("pending", "t1")
    assert found[second.id].state == "processed"


def test_marking_processed_writes_the_description_and_the_outcome_in_one_statement(session, raw_mail):
    row = raw_mail(message_id="", from_email="", subject="")
    session.flush()
    pending = pending_mails(session.connection(), [row.id])[row.id].described("m1@x", "Ann@X.example", "S" * 600)
    seen = _statements(session)
    mark_mail_processed(session.connection(), pending, "ticket 1 created", NOW)
    assert seen == ["UPDATE"]
    stored = session.exec(select(RawMail.state, RawMail.outcome, RawMail.message_id, RawMail.from_email,
                                 RawMail.subject, RawMail.processed_at).where(RawMail.id == row.id)).one()
    assert stored == ("processed", "ticket 1 created", "m1@x", "ann@x.example", "S" * 500, NOW)


def test_a_ticket_just_decided_skips_the_dedupe_check_only_where_transactions_take_turns(session, raw_mail,
                                                                                       attachments_dir):
    inbox = add_inbox(session, "help@example.com")
    row = raw_mail(inbox_id=inbox.id, gmail_id="g1", thread_id="t1")
    session.flush()
    pending = pending_mails(session.connection(), [row.id])[row.id]
    seen = _statements(session)
    outcome = carry_out(session, pending, _create("m1@x"), attachments_dir, NOW, just_decided=True)
    assert outcome.kind.value == "created"
    if session.get_bind().dialect.name == "sqlite":
        assert seen == ["INSERT", "INSERT", "INSERT"]      # ticket, comment, thread: nothing read again
    else:
        # Two inboxes' passes may decide the same Message-ID at once: take turns, then look again.
        assert seen == ["SELECT", "SELECT", "INSERT", "INSERT", "INSERT"]
    assert session.exec(select(TicketThread.gmail_thread_id)).all() == ["t1"]
    assert len(session.exec(select(Ticket)).all()) == 1


@pytest.mark.postgres
def test_pending_mails_stay_locked_until_the_transaction_ends(postgres_engine):
    with session_scope(postgres_engine) as setup:
        raw_id = store_raw(setup, "smtp", b"Subject: x\r\n\r\nx", received_at=NOW).id
    with session_scope(postgres_engine) as session:
        pending_mails(session.connection(), [raw_id])
        with postgres_engine.connect() as other:
            with pytest.raises(OperationalError):
                other.execute(text("SELECT id FROM raw_mails WHERE id = :id FOR UPDATE NOWAIT"), {"id": raw_id})
