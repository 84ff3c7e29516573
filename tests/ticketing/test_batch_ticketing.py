"""Messages ticketed together share short write transactions, yet each ends exactly as if ticketed alone."""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from connector.mail.outcome import OutcomeKind
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.inboxes import add_inbox
from connector.store.models import Comment, Inbox, RawMail, SuspendedMail, Ticket, TicketThread
from connector.store.raw import store_raw
from connector.ticketing.loading import BATCH_MESSAGES
from connector.ticketing.reader import InlineReader
from connector.ticketing.ticket_mail import Ticketing, ticket_stored_mails

NOW = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)
INBOX, OTHER = "help@shop.example", "billing@shop.example"
POISON = "X-Poison: yes"


def mail(mid: str, *extra: str, sender: str = "Ann <ann@x.example>", subject: str = "Help") -> bytes:
    head = "\n".join([f"From: {sender}", f"To: {INBOX}", f"Subject: {subject}", f"Message-ID: <{mid}>", *extra])
    return (head + "\n\nHi\n").replace("\n", "\r\n").encode()


class PoisoningReader:
    """Reads in this process; a message with the X-Poison header comes back with a body the
    database cannot store, so applying it fails after its ticket row was already written."""

    def __init__(self):
        self.inline = InlineReader()

    def read(self, raw: bytes):
        parsed = self.inline.read(raw)
        return replace(parsed, body_html=object()) if POISON.encode() in raw else parsed

    def close(self) -> None:
        pass


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        add_inbox(session, INBOX)
        add_inbox(session, OTHER)
    yield engine
    engine.dispose()


def ticketing(engine, tmp_path, reader=None, read_ahead: int = 0) -> Ticketing:
    return Ticketing(engine=engine, reader=reader or PoisoningReader(), attachments_dir=tmp_path / "attachments",
                     attachment_max_bytes=1 << 20, now=lambda: NOW, read_ahead=read_ahead)


def store(engine, *raws: bytes, inbox: str = INBOX, threads: list[str] | None = None) -> list[int]:
    with session_scope(engine) as session:
        inbox_id = session.exec(select(Inbox.id).where(Inbox.address == inbox)).one()
        first = session.exec(select(RawMail.id)).all()
        ids = []
        for n, raw in enumerate(raws):
            thread = threads[n] if threads else f"{inbox}-t{len(first) + n}"
            row = store_raw(session, "gmail", raw, inbox_id=inbox_id, gmail_id=f"{inbox}-g{len(first) + n}",
                            thread_id=thread, label_ids=("INBOX",), received_at=NOW)
            ids.append(row.id)
        return ids


def rows(engine, model) -> list:
    with Session(engine) as session:
        return list(session.exec(select(model)))


def kinds(outcomes) -> list[str]:
    return [outcome.kind.value for outcome in outcomes]


def test_messages_ticketed_together_share_write_transactions(engine, tmp_path):
    ids = store(engine, *(mail(f"m{n}@x", subject=f"Q{n}") for n in range(6)))
    commits = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    assert kinds(ticket_stored_mails(ticketing(engine, tmp_path), ids)) == ["created"] * 6
    # One, unless a slow machine spent the transaction's time budget (BATCH_SECONDS) before the end.
    assert 1 <= len(commits) < 6
    assert {raw.state for raw in rows(engine, RawMail)} == {"processed"}


def test_no_write_transaction_settles_more_than_a_batch(engine, tmp_path):
    ids = store(engine, *(mail(f"m{n}@x", sender=f"<c{n}@x.example>", subject=f"Q{n}") for n in range(45)))
    marked, per_transaction = [0], []

    def count(connection, cursor, statement, *rest) -> None:
        marked[0] += statement.startswith("UPDATE raw_mails")

    def close(connection) -> None:
        per_transaction.append(marked[0])
        marked[0] = 0

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", close)
    assert kinds(ticket_stored_mails(ticketing(engine, tmp_path), ids)) == ["created"] * 45
    assert sum(per_transaction) == 45 and max(per_transaction) <= BATCH_MESSAGES and len(per_transaction) >= 3


def test_a_message_failing_mid_batch_is_held_back_alone_and_its_neighbours_are_ticketed(engine, tmp_path):
    ids = store(engine, mail("one@x"), mail("two@x", POISON), mail("three@x"))
    outcomes = list(ticket_stored_mails(ticketing(engine, tmp_path), ids))
    assert kinds(outcomes) == ["created", "suspended", "created"]
    # The failed message's ticket row, written before its comment failed, was rolled back with it.
    assert sorted(t.subject for t in rows(engine, Ticket)) == ["Help", "Help"]
    assert sorted(c.message_id for c in rows(engine, Comment)) == ["one@x", "three@x"]
    [held] = rows(engine, SuspendedMail)
    assert held.kind == "error" and held.raw_mail_id == ids[1] and "could not be processed" in held.reason
    assert {raw.id: raw.state for raw in rows(engine, RawMail)} == {i: "processed" for i in ids}


def test_a_reply_in_the_same_batch_as_its_original_lands_on_its_ticket(engine, tmp_path):
    ids = store(engine, mail("first@x"), mail("reply@x", "In-Reply-To: <first@x>", subject="Re: Help"),
                mail("same-thread@x", subject="More"), threads=["t1", "t2", "t1"])
    first, reply, same_thread = ticket_stored_mails(ticketing(engine, tmp_path), ids)
    assert (first.kind, reply.kind, same_thread.kind) == (OutcomeKind.CREATED, OutcomeKind.COMMENTED,
                                                          OutcomeKind.COMMENTED)
    assert reply.ticket_id == same_thread.ticket_id == first.ticket_id
    assert len(rows(engine, Ticket)) == 1
    assert sorted(t.gmail_thread_id for t in rows(engine, TicketThread)) == ["t1", "t2"]


def test_the_same_message_twice_in_one_batch_opens_one_ticket(engine, tmp_path):
    ids = store(engine, mail("twice@x"), mail("twice@x"))
    assert kinds(ticket_stored_mails(ticketing(engine, tmp_path), ids)) == ["created", "skipped"]
    assert len(rows(engine, Ticket)) == 1 and len(rows(engine, Comment)) == 1


def test_the_loop_guard_counts_the_messages_settled_earlier_in_the_same_batch(engine, tmp_path):
    ticket = ticketing(engine, tmp_path)
    earlier = store(engine, *(mail(f"early{n}@x", subject=f"Q{n}") for n in range(10)))
    assert kinds(ticket_stored_mails(ticket, earlier)) == ["created"] * 10
    later = store(engine, *(mail(f"late{n}@x", subject=f"R{n}") for n in range(15)))
    # 20 accepted within the hour is the limit: the batch's own first ten count towards it.
    assert kinds(ticket_stored_mails(ticket, later)) == ["created"] * 10 + ["suspended"] * 5
    assert {s.kind for s in rows(engine, SuspendedMail)} == {"loop"}


def test_reading_ahead_in_threads_keeps_the_order_and_the_threading(engine, tmp_path):
    raws = []
    for n in range(30):
        first, sender = n - n % 3, f"<c{n // 3}@x.example>"     # a sender per conversation: no loop
        raws.append(mail(f"q{n}@x", sender=sender, subject=f"Q{n}") if n == first else
                    mail(f"r{n}@x", f"In-Reply-To: <q{first}@x>", sender=sender, subject=f"Re: Q{first}"))
    ids = store(engine, *raws)
    outcomes = list(ticket_stored_mails(ticketing(engine, tmp_path, InlineReader(), read_ahead=2), ids))
    assert kinds(outcomes) == ["created", "commented", "commented"] * 10
    assert [o.ticket_id for o in outcomes] == [outcomes[n - n % 3].ticket_id for n in range(30)]


def test_mail_of_a_batch_is_read_while_no_write_lock_is_held(engine, tmp_path):
    writes = []

    class WritingReader(PoisoningReader):
        def read(self, raw: bytes):
            with session_scope(engine) as session:     # waits for the write lock, if anyone holds it
                store_raw(session, "smtp", b"Subject: other\r\n\r\n", envelope_to=[INBOX], received_at=NOW)
            writes.append("ok")
            return super().read(raw)

    ids = store(engine, mail("a@x"), mail("b@x"), mail("c@x"))
    assert kinds(ticket_stored_mails(ticketing(engine, tmp_path, WritingReader()), ids)) == ["created"] * 3
    assert writes == ["ok"] * 3


def test_two_inboxes_batching_the_same_messages_in_opposite_orders_open_one_ticket_each(engine, tmp_path, caplog):
    """Cc'd mail seen by two inboxes' passes at once, in opposite orders: on PostgreSQL their
    transactions take turns on the Message-IDs (all at once, in one order, so they never deadlock),
    and every message is ticketed once with nothing held back."""
    caplog.set_level(logging.INFO, logger="connector.ticketing.settle")
    messages = [mail(f"cc{n}@x", subject=f"Cc {n}") for n in range(4)]
    ours = store(engine, *messages, inbox=INBOX)
    theirs = store(engine, *reversed(messages), inbox=OTHER)
    start, outcomes = threading.Barrier(2), []

    def run(ids: list[int]) -> None:
        start.wait(timeout=10)
        outcomes.extend(ticket_stored_mails(ticketing(engine, tmp_path), ids))

    workers = [threading.Thread(target=run, args=(ids,)) for ids in (ours, theirs)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(kinds(outcomes)) == ["created"] * 4 + ["skipped"] * 4
    assert len(rows(engine, Ticket)) == 4 and len(rows(engine, Comment)) == 4
    assert {t.ticket_id for t in rows(engine, TicketThread)} == {t.id for t in rows(engine, Ticket)}
    assert rows(engine, SuspendedMail) == [] and "rolled back" not in caplog.text
