"""Raw mail is stored once per (inbox, Gmail id), exactly as received."""
import hashlib
import threading
import time
from datetime import datetime, timezone

from sqlmodel import Session, select

from connector.store.db import session_scope
from connector.store.inboxes import add_inbox
from connector.store.models import RawMail
from connector.store.raw import store_raw

RAW = b"From: Ann <ann@example.com>\r\nSubject: Printer\r\n\r\nIt is on fire.\r\n"


def test_raw_mail_keeps_the_exact_bytes_and_gmail_bookkeeping(session):
    inbox = add_inbox(session, "Support@Example.com")
    row = store_raw(session, "gmail", RAW, inbox.id, "g1", "t1", ["INBOX", "UNREAD"], 1714564800000,
                    "abc@example.com", "Ann@Example.com", subject="Printer")
    session.flush()
    stored = session.get(RawMail, row.id)
    assert stored.raw == RAW
    assert stored.sha256 == hashlib.sha256(RAW).hexdigest() and stored.size == len(RAW)
    assert stored.label_ids == "INBOX,UNREAD"
    assert stored.internal_date == datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert stored.from_email == "ann@example.com"
    assert (stored.state, stored.outcome) == ("pending", "")


def test_same_gmail_id_in_the_same_inbox_is_stored_once(session):
    inbox = add_inbox(session, "support@example.com")
    assert store_raw(session, "gmail", RAW, inbox.id, "g1") is not None
    assert store_raw(session, "gmail", RAW, inbox.id, "g1") is None
    assert len(session.exec(select(RawMail)).all()) == 1


def test_same_gmail_id_in_another_inbox_is_another_message(session):
    one = add_inbox(session, "one@example.com")
    two = add_inbox(session, "two@example.com")
    assert store_raw(session, "gmail", RAW, one.id, "g1") is not None
    assert store_raw(session, "gmail", RAW, two.id, "g1") is not None


def test_smtp_mail_without_gmail_id_is_always_stored(session):
    first = store_raw(session, "smtp", RAW, envelope_from="ann@example.com",
                      envelope_to=["help@example.com", "sales@example.com"])
    second = store_raw(session, "smtp", RAW)
    assert first is not None and second is not None and first.id != second.id
    assert first.envelope_to == "help@example.com,sales@example.com"


def test_two_syncs_storing_the_same_message_at_once_store_it_once(engine):
    # A second sync that checks before the first commits must not fail or store a copy:
    # SQLite makes it wait for the write lock, PostgreSQL for the uncommitted unique key.
    with session_scope(engine) as setup:
        inbox_id = add_inbox(setup, "support@example.com").id
    results = []
    first = Session(engine)
    try:
        assert store_raw(first, "gmail", RAW, inbox_id, "g1") is not None
        first.flush()
        second = threading.Thread(target=_store_in_own_session, args=(engine, inbox_id, results))
        second.start()
        time.sleep(0.2)
        first.commit()
    finally:
        first.close()
    second.join(timeout=10)
    assert results == [None]
    with session_scope(engine) as check:
        assert len(check.exec(select(RawMail)).all()) == 1


def _store_in_own_session(engine, inbox_id, results):
    with session_scope(engine) as session:
        results.append(store_raw(session, "gmail", RAW, inbox_id, "g1"))
