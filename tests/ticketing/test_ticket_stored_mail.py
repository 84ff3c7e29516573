"""`ticket_stored_mail`: one function turns stored raw mail from every source into a typed outcome."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from connector.mail.outcome import OutcomeKind
from connector.store.addresses import add_external_address
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.inboxes import add_inbox
from connector.store.models import Comment, Inbox, RawMail, StoredAttachment, SuspendedMail, Ticket
from connector.store.raw import store_raw
from connector.ticketing.reader import InlineReader, Unreadable
from connector.ticketing.ticket_mail import Ticketing, recover_suspended_mail, ticket_stored_mail

NOW = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)
INBOX, SUPPORT, EXTERNAL = "help@shop.example", "facturation@helpdesk.example", "facturation@shop.example"


def mail(extra: str = "", sender: str = "Ann <ann@x.example>", mid: str = "m1@x.example", subject: str = "Help",
         body: str = "Hi") -> bytes:
    head = f"From: {sender}\nTo: {INBOX}\nSubject: {subject}\nMessage-ID: <{mid}>\n{extra}".strip()
    return (head + "\n\n" + body + "\n").replace("\n", "\r\n").encode()


class ReaderSpy:
    """The in-process reader, recording the calls; optionally refusing every message as too complex."""

    def __init__(self, refuse: str = "", during_read=None):
        self.calls, self.refuse, self.during_read = 0, refuse, during_read
        self.inline = InlineReader()

    def read(self, raw: bytes):
        self.calls += 1
        if self.during_read:
            self.during_read()
        return Unreadable(self.refuse) if self.refuse else self.inline.read(raw)

    def close(self) -> None:
        pass


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        add_inbox(session, INBOX, group="Support")
        add_external_address(session, EXTERNAL, SUPPORT, "Billing")
    yield engine
    engine.dispose()


@pytest.fixture
def reader():
    return ReaderSpy()


@pytest.fixture
def ticketing(engine, reader, tmp_path):
    return Ticketing(engine=engine, reader=reader, attachments_dir=tmp_path / "attachments",
                     attachment_max_bytes=1 << 20, now=lambda: NOW)


def stored(engine, raw: bytes, source: str = "gmail", n: int = 1, thread: str = "t1", **fields) -> int:
    with session_scope(engine) as session:
        if source == "gmail":
            inbox_id = session.exec(select(Inbox.id).where(Inbox.address == INBOX)).one()
            row = store_raw(session, "gmail", raw, inbox_id=inbox_id, gmail_id=f"g{n}", thread_id=thread,
                            label_ids=("INBOX",), received_at=NOW, **fields)
        else:
            row = store_raw(session, "smtp", raw, envelope_to=[SUPPORT], received_at=NOW, **fields)
        return row.id


def rows(engine, model):
    with Session(engine) as session:
        return list(session.exec(select(model)))


def test_gmail_mail_becomes_a_ticket_then_a_comment_read_once_each(engine, ticketing, reader):
    first = ticket_stored_mail(ticketing, stored(engine, mail()))
    reply = ticket_stored_mail(ticketing, stored(engine, mail(mid="m2@x.example", subject="Re: Help"), n=2))
    assert (first.kind, reply.kind) == (OutcomeKind.CREATED, OutcomeKind.COMMENTED)
    assert reply.ticket_id == first.ticket_id and reader.calls == 2
    [raw, _] = rows(engine, RawMail)
    assert (raw.state, raw.outcome, raw.message_id, raw.from_email, raw.subject) == \
        ("processed", first.text, "m1@x.example", "ann@x.example", "Help")


def test_a_stored_message_is_ticketed_once_and_not_read_again(engine, ticketing, reader):
    raw_id = stored(engine, mail())
    ticket_stored_mail(ticketing, raw_id)
    again = ticket_stored_mail(ticketing, raw_id)
    assert again.kind is OutcomeKind.SKIPPED and reader.calls == 1
    assert len(rows(engine, Ticket)) == 1


def test_machine_mail_is_a_private_note_on_its_ticket_or_held_back(engine, ticketing):
    ticket_stored_mail(ticketing, stored(engine, mail()))
    note = ticket_stored_mail(ticketing, stored(engine, mail("Auto-Submitted: auto-replied\nIn-Reply-To: <m1@x.example>",
                                                              mid="oof1@x.example"), n=2, thread="t2"))
    held = ticket_stored_mail(ticketing, stored(engine, mail("Auto-Submitted: auto-replied", mid="oof2@x.example"),
                                                n=3, thread="t3"))
    assert (note.kind, held.kind) == (OutcomeKind.NOTED, OutcomeKind.SUSPENDED)
    [suspended] = rows(engine, SuspendedMail)
    assert suspended.kind == "auto_reply" and suspended.from_email == "ann@x.example"


def test_smtp_mail_is_routed_by_its_envelope_and_gets_the_envelope_sender_as_requester(engine, ticketing):
    outcome = ticket_stored_mail(ticketing, stored(engine, mail(sender="nobody"), source="smtp",
                                                   envelope_from="jo@client.example"))
    assert outcome.kind is OutcomeKind.CREATED
    [ticket] = rows(engine, Ticket)
    assert (ticket.group, ticket.received_at_address, ticket.requester_email) == \
        ("Billing", SUPPORT, "jo@client.example")
    [comment] = rows(engine, Comment)
    assert "taken from the envelope sender" in comment.notes


CONFIRMATION = (b"From: Gmail Team <forwarding-noreply@google.com>\r\nTo: " + SUPPORT.encode() + b"\r\n"
                b"Subject: (#123456789) Gmail Forwarding Confirmation - Receive Mail from " + EXTERNAL.encode() +
                b"\r\nMessage-ID: <conf-1@google.com>\r\n\r\n" + EXTERNAL.encode() +
                b" has requested to automatically forward mail to your email address " + SUPPORT.encode() +
                b".\r\nConfirmation code: 123456789\r\n")


def test_forwarding_confirmation_is_attached_to_its_setup_and_a_forged_one_held(engine, ticketing):
    attached = ticket_stored_mail(ticketing, stored(engine, CONFIRMATION, source="smtp",
                                                    envelope_from="forwarding-noreply@google.com"))
    forged = ticket_stored_mail(ticketing, stored(engine, CONFIRMATION, source="smtp",
                                                  envelope_from="mallory@evil.example"))
    assert attached.kind is OutcomeKind.FORWARDING and "attached" in attached.text
    assert forged.kind is OutcomeKind.SUSPENDED
    [held] = rows(engine, SuspendedMail)
    assert held.kind == "forwarding" and "may be forged" in held.reason
    assert rows(engine, Ticket) == []


def test_recover_releases_held_back_mail_once(engine, ticketing):
    ticket_stored_mail(ticketing, stored(engine, mail("Auto-Submitted: auto-replied")))
    [held] = rows(engine, SuspendedMail)
    recovered = recover_suspended_mail(ticketing, held.id)
    assert recovered is not None and recovered.kind is OutcomeKind.CREATED
    assert recover_suspended_mail(ticketing, held.id) is None
    assert recover_suspended_mail(ticketing, held.id + 100) is None
    [held] = rows(engine, SuspendedMail)
    assert held.state == "recovered" and len(rows(engine, Ticket)) == 1


def test_mail_over_the_reading_budget_is_held_back_and_recovered_with_the_original_attached(engine, ticketing,
                                                                                            reader):
    reader.refuse = "too complex: reading it took over 20 s"
    held = ticket_stored_mail(ticketing, stored(engine, mail(subject="Invoice 42")))
    assert held.kind is OutcomeKind.SUSPENDED
    [suspended] = rows(engine, SuspendedMail)
    assert suspended.kind == "too_complex" and "took over 20 s" in suspended.reason
    recovered = recover_suspended_mail(ticketing, suspended.id)
    assert recovered is not None and recovered.kind is OutcomeKind.CREATED
    [ticket] = rows(engine, Ticket)
    assert ticket.subject == "Invoice 42" and ticket.requester_email == "ann@x.example"
    assert [a.filename for a in rows(engine, StoredAttachment)] == ["original.eml"]


def test_a_failure_while_applying_holds_the_mail_back_with_the_error(engine, ticketing, monkeypatch):
    import connector.ticketing.ticket_mail as module

    def broken(*args, **kwargs):
        raise RuntimeError("the pipeline broke")

    monkeypatch.setattr(module, "decide", broken)
    outcome = ticket_stored_mail(ticketing, stored(engine, mail()))
    assert outcome.kind is OutcomeKind.SUSPENDED
    [held] = rows(engine, SuspendedMail)
    assert held.kind == "error" and "RuntimeError: the pipeline broke" in held.reason
    [raw] = rows(engine, RawMail)
    assert raw.raw == mail(), "the raw message is kept"


def test_mail_is_read_while_no_write_lock_is_held(engine, tmp_path):
    """Another writer must get through while a message is being read (a slow read never stalls the others)."""
    writes = []

    def write_meanwhile() -> None:
        with session_scope(engine) as session:
            store_raw(session, "smtp", b"Subject: other\r\n\r\n", envelope_to=[SUPPORT], received_at=NOW)
            writes.append("ok")

    ticketing = Ticketing(engine=engine, reader=ReaderSpy(during_read=write_meanwhile),
                          attachments_dir=tmp_path / "att", attachment_max_bytes=1 << 20, now=lambda: NOW)
    assert ticket_stored_mail(ticketing, stored(engine, mail())).kind is OutcomeKind.CREATED
    assert writes == ["ok"]
