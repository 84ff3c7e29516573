"""queue_reply stores the reply (or private note) first, with everything needed to send it later."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from connector.outbound.compose import ReplyAttachment, ReplyTooLarge
from connector.store.addresses import add_external_address
from connector.store.db import session_scope
from connector.store.inboxes import add_inbox
from connector.store.models import Comment, StoredAttachment, Ticket, TicketThread
from connector.store.outbound import UnknownTicket, ReplyError, queue_reply
from connector.store.outbound_models import OutgoingMail
from jobs.outbound_queue import due_ids

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _ticket(session, received_at="support@masociete.com", thread="t-1", inbox=True, ids=("c1@x", "c2@x")) -> int:
    box = add_inbox(session, "support@masociete.com", now=NOW) if inbox else None
    ticket = Ticket(subject="Cannot log in", status="open", requester_name="Claire",
                    requester_email="claire@example.org",
                    inbox_id=box.id if box else None, received_at_address=received_at, gmail_thread_id=thread)
    session.add(ticket)
    session.flush()
    for minute, mid in enumerate(ids):
        session.add(Comment(ticket_id=ticket.id, author_email="claire@example.org", message_id=mid,
                            created_at=NOW + timedelta(minutes=minute)))
    return ticket.id


def test_reply_is_stored_with_from_to_subject_and_threading(engine, tmp_path):
    with session_scope(engine) as session:
        ticket_id = _ticket(session)
        session.add(Comment(ticket_id=ticket_id, author_email="support@masociete.com",
                            message_id="ours-1@masociete.com", direction="outbound",
                            created_at=NOW + timedelta(minutes=5)))
        session.add(Comment(ticket_id=ticket_id, author_email="ooo@example.org", message_id="auto@x", public=False,
                            created_at=NOW + timedelta(minutes=6)))
        row = queue_reply(session, ticket_id, "Try again now.", now=NOW, attachments_dir=tmp_path / "att")
    assert (row.state, row.private, row.attempts, row.next_attempt_at) == ("queued", False, 0, NOW)
    assert row.from_address == "support@masociete.com" and row.to_addresses == "claire@example.org"
    assert row.subject == "Re: Cannot log in", "the Gmail thread's subject, so Gmail keeps the thread"
    assert row.gmail_thread_id == "t-1"
    assert row.in_reply_to == "c2@x", "the last message from the customer"
    assert row.references.split() == ["c1@x", "c2@x", "ours-1@masociete.com"], "private notes are not references"
    assert row.message_id.startswith(f"ticket-{ticket_id}-") and row.message_id.endswith("@masociete.com")
    assert due_ids(engine, NOW) == [row.id]


def test_without_a_gmail_thread_the_subject_carries_the_ticket_token(engine, tmp_path):
    with session_scope(engine) as session:
        ticket_id = _ticket(session, thread=None, inbox=False)
        row = queue_reply(session, ticket_id, "Hello", now=NOW, attachments_dir=tmp_path)
    assert row.subject == f"Re: Cannot log in [#{ticket_id}]"
    assert row.gmail_thread_id is None and row.inbox_id is None


def test_forwarded_ticket_replies_from_the_external_address(engine, tmp_path):
    with session_scope(engine) as session:
        add_external_address(session, "facturation@masociete.com", "facturation@helpdesk.example", "Billing")
        ticket_id = _ticket(session, received_at="facturation@helpdesk.example", inbox=False, thread=None)
        row = queue_reply(session, ticket_id, "Voici la facture.", now=NOW, attachments_dir=tmp_path)
    assert row.from_address == "facturation@masociete.com"
    assert row.message_id.endswith("@masociete.com")


def test_attachments_are_stored_by_content_once(engine, tmp_path):
    payload = b"%PDF-1.4 the invoice"
    files = [ReplyAttachment.guess("invoice.pdf", payload), ReplyAttachment.guess("copy.pdf", payload)]
    with session_scope(engine) as session:
        row = queue_reply(session, _ticket(session), "Attached.", files, now=NOW, attachments_dir=tmp_path / "att")
    stored = json.loads(row.attachments)
    digest = hashlib.sha256(payload).hexdigest()
    assert [a["filename"] for a in stored] == ["invoice.pdf", "copy.pdf"]
    assert {a["sha256"] for a in stored} == {digest} and stored[0]["content_type"] == "application/pdf"
    assert (tmp_path / "att" / stored[0]["path"]).read_bytes() == payload
    assert len(list((tmp_path / "att").rglob("*"))) == 2, "one directory, one file"


def test_private_note_is_a_private_comment_and_never_due(engine, tmp_path):
    with session_scope(engine) as session:
        ticket_id = _ticket(session)
        row = queue_reply(session, ticket_id, "Customer called, see CRM.", [ReplyAttachment.guess("n.txt", b"x")],
                          private=True, now=NOW, attachments_dir=tmp_path)
    assert row.state == "private" and row.next_attempt_at is None
    assert due_ids(engine, NOW + timedelta(days=30)) == []
    with session_scope(engine) as session:
        note = session.exec(select(Comment).where(Comment.message_id == row.message_id)).one()
        assert (note.public, note.direction, note.body_text) == (False, "outbound", "Customer called, see CRM.")
        files = session.exec(select(StoredAttachment.filename).where(StoredAttachment.comment_id == note.id))
        assert files.all() == ["n.txt"]
        assert session.get(Ticket, ticket_id).status == "open", "a note does not change the ticket's status"


def test_too_large_reply_is_refused_before_anything_is_stored(engine, tmp_path):
    with session_scope(engine) as session:
        ticket_id = _ticket(session)
    with pytest.raises(ReplyTooLarge, match="Gmail sends at most"):
        with session_scope(engine) as session:
            queue_reply(session, ticket_id, "x", [ReplyAttachment.guess("big.bin", b"\0" * 4096)], now=NOW,
                        attachments_dir=tmp_path / "att", max_message_bytes=4096)
    with session_scope(engine) as session:
        assert session.exec(select(OutgoingMail)).all() == []
    assert not (tmp_path / "att").exists(), "no attachment file written either"


def test_unknown_ticket_and_empty_reply_are_refused(engine, tmp_path):
    with session_scope(engine) as session:
        with pytest.raises(UnknownTicket):
            queue_reply(session, 999, "Hello", attachments_dir=tmp_path)
        with pytest.raises(ReplyError, match="neither text nor attachments"):
            queue_reply(session, _ticket(session), "  \n", attachments_dir=tmp_path)


def test_reply_threads_in_the_mailbox_it_is_sent_from(engine, tmp_path):
    with session_scope(engine) as session:
        ticket_id = _ticket(session, thread=None)
        session.add(TicketThread(ticket_id=ticket_id, inbox_id=1, gmail_thread_id="t-9"))
        row = queue_reply(session, ticket_id, "Hello", now=NOW, attachments_dir=tmp_path)
    assert row.gmail_thread_id == "t-9"


def test_every_refusal_is_a_reply_error_callers_can_catch_once():
    from connector.store.outbound import ReplyTooLarge as Exported

    assert issubclass(Exported, ReplyError) and issubclass(UnknownTicket, ReplyError)
