"""Applying the pipeline's decisions: tickets, comments, reopening, hold-backs, idempotency."""
import hashlib
from datetime import timedelta

import pytest
from sqlmodel import select

from connector.mail.decision import AddComment, CreateTicket, NewComment, Skip, Suspend, Trace
from connector.mail.model import Address, Attachment
from connector.store.inboxes import add_inbox
from connector.store.models import Comment, StoredAttachment, SuspendedMail, Ticket, TicketThread
from connector.mail.outcome import OutcomeKind
from connector.store.tickets import UnknownTicket, apply_decision

from .conftest import NOW

ANN = Address("Ann Customer", "Ann@Example.com")
PDF = b"%PDF-1.4 pretend invoice"


def comment(message_id: str, *attachments: Attachment, author: Address = ANN) -> NewComment:
    return NewComment(author=author, body_text="hello", body_html="<p>hello</p>", public=True,
                      message_id=message_id, attachments=attachments, notes=("big.iso not stored",))


def create(message_id: str, *attachments: Attachment) -> CreateTicket:
    return CreateTicket(subject="Printer on fire", requester=ANN, group="Support",
                        received_at_address="Help@Example.com", comment=comment(message_id, *attachments),
                        flags=("bulk", "multi_forward"))


def pdf(name: str = "invoice.pdf") -> Attachment:
    return Attachment(filename=name, content_type="application/pdf", size=len(PDF),
                      sha256=hashlib.sha256(PDF).hexdigest(), content_id=None, inline=False, payload=PDF)


def test_create_ticket_stores_ticket_comment_thread_and_marks_the_raw_mail(session, raw_mail, attachments_dir):
    inbox = add_inbox(session, "help@example.com")
    raw = raw_mail(inbox_id=inbox.id, gmail_id="g1", thread_id="t1")
    outcome = apply_decision(session, raw, Trace(create("m1@example.com")), attachments_dir, NOW)
    ticket = session.exec(select(Ticket)).one()
    assert outcome.text == f"ticket {ticket.id} created" and outcome.kind is OutcomeKind.CREATED
    assert (ticket.status, ticket.requester_email, ticket.flags) == ("new", "ann@example.com", "bulk,multi_forward")
    assert (ticket.inbox_id, ticket.gmail_thread_id, ticket.received_at_address) == (inbox.id, "t1", "help@example.com")
    row = session.exec(select(Comment)).one()
    assert (row.ticket_id, row.raw_mail_id, row.message_id, row.direction) == (ticket.id, raw.id, "m1@example.com", "inbound")
    assert row.notes == "big.iso not stored"
    thread = session.exec(select(TicketThread)).one()
    assert (thread.ticket_id, thread.inbox_id, thread.gmail_thread_id) == (ticket.id, inbox.id, "t1")
    assert (raw.state, raw.outcome, raw.processed_at) == ("processed", outcome.text, NOW)


def test_the_same_message_applied_twice_creates_one_ticket(session, raw_mail, attachments_dir):
    first, again = raw_mail(), raw_mail()
    apply_decision(session, first, create("m1@example.com"), attachments_dir, NOW)
    outcome = apply_decision(session, again, create("m1@example.com"), attachments_dir, NOW)
    ticket = session.exec(select(Ticket)).one()
    assert outcome.text == f"skipped: already on ticket {ticket.id}" and outcome.kind is OutcomeKind.SKIPPED
    assert len(session.exec(select(Comment)).all()) == 1


def test_the_same_message_in_a_second_inbox_maps_that_thread_to_the_ticket(session, raw_mail, attachments_dir):
    one, two = add_inbox(session, "one@example.com"), add_inbox(session, "two@example.com")
    apply_decision(session, raw_mail(inbox_id=one.id, gmail_id="a", thread_id="ta"), create("m1@example.com"),
                   attachments_dir, NOW)
    apply_decision(session, raw_mail(inbox_id=two.id, gmail_id="b", thread_id="tb"), create("m1@example.com"),
                   attachments_dir, NOW)
    threads = session.exec(select(TicketThread.inbox_id, TicketThread.gmail_thread_id)).all()
    assert sorted(threads) == [(one.id, "ta"), (two.id, "tb")]
    assert len(session.exec(select(Ticket)).all()) == 1


def test_add_comment_is_idempotent_per_message_id(session, raw_mail, attachments_dir):
    apply_decision(session, raw_mail(), create("m1@example.com"), attachments_dir, NOW)
    ticket = session.exec(select(Ticket)).one()
    reply = AddComment(ticket_id=ticket.id, comment=comment("m2@example.com"), reopen=False)
    later = NOW + timedelta(minutes=5)
    assert apply_decision(session, raw_mail(), reply, attachments_dir, later).text == f"comment on {ticket.id}"
    assert apply_decision(session, raw_mail(), reply, attachments_dir, later).text == f"skipped: already on ticket {ticket.id}"
    assert len(session.exec(select(Comment)).all()) == 2
    assert ticket.updated_at == later


@pytest.mark.parametrize("status, reopen, expected", [
    ("pending", True, "open"), ("solved", True, "open"), ("new", True, "new"),
    ("open", True, "open"), ("solved", False, "solved"),
])
def test_a_customer_reply_reopens_pending_and_solved_tickets(session, raw_mail, attachments_dir,
                                                              status, reopen, expected):
    apply_decision(session, raw_mail(), create("m1@example.com"), attachments_dir, NOW)
    ticket = session.exec(select(Ticket)).one()
    ticket.status = status
    outcome = apply_decision(session, raw_mail(), AddComment(ticket.id, comment("m2@example.com"), reopen),
                             attachments_dir, NOW)
    assert ticket.status == expected
    assert outcome.text.endswith("(reopened)") == outcome.reopened == (status in ("pending", "solved") and reopen)


def test_a_comment_on_a_vanished_ticket_is_an_error(session, raw_mail, attachments_dir):
    with pytest.raises(UnknownTicket):
        apply_decision(session, raw_mail(), AddComment(999, comment("m2@example.com"), False), attachments_dir, NOW)


def test_attachments_are_stored_once_by_content(session, raw_mail, attachments_dir):
    apply_decision(session, raw_mail(), create("m1@example.com", pdf(), pdf("copy.pdf")), attachments_dir, NOW)
    ticket = session.exec(select(Ticket)).one()
    apply_decision(session, raw_mail(), AddComment(ticket.id, comment("m2@example.com", pdf()), False),
                   attachments_dir, NOW)
    sha = hashlib.sha256(PDF).hexdigest()
    assert [p.relative_to(attachments_dir).as_posix() for p in attachments_dir.rglob("*") if p.is_file()] \
        == [f"{sha[:2]}/{sha}"]
    assert (attachments_dir / sha[:2] / sha).read_bytes() == PDF
    rows = session.exec(select(StoredAttachment).order_by(StoredAttachment.id)).all()
    assert [(r.filename, r.sha256, r.path, r.size) for r in rows] == [
        ("invoice.pdf", sha, f"{sha[:2]}/{sha}", len(PDF)), ("copy.pdf", sha, f"{sha[:2]}/{sha}", len(PDF)),
        ("invoice.pdf", sha, f"{sha[:2]}/{sha}", len(PDF))]


def test_suspend_holds_the_mail_back_with_a_readable_reason(session, raw_mail, attachments_dir):
    raw = raw_mail(from_email="mailer-daemon@example.net", subject="Undelivered Mail")
    decision = Suspend(reason="bounce (Content-Type: multipart/report)", kind="bounce")
    assert apply_decision(session, raw, decision, attachments_dir, NOW).text == \
        "suspended: bounce (Content-Type: multipart/report)"
    held = session.exec(select(SuspendedMail)).one()
    assert (held.raw_mail_id, held.kind, held.state) == (raw.id, "bounce", "suspended")
    assert (held.from_email, held.subject, held.received_at) == ("mailer-daemon@example.net", "Undelivered Mail", NOW)
    assert session.exec(select(Ticket)).all() == []
    apply_decision(session, raw, decision, attachments_dir, NOW)  # re-processing holds it once
    assert len(session.exec(select(SuspendedMail)).all()) == 1


def test_skip_only_marks_the_raw_mail(session, raw_mail, attachments_dir):
    raw = raw_mail()
    assert apply_decision(session, raw, Skip("our own sent mail seen again"), attachments_dir, NOW).text == \
        "skipped: our own sent mail seen again"
    assert raw.state == "processed"
    assert session.exec(select(Ticket)).all() == [] and session.exec(select(SuspendedMail)).all() == []


def test_nothing_is_committed_by_apply_decision(engine, attachments_dir):
    from connector.store.db import session_scope
    from connector.store.raw import store_raw

    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            raw = store_raw(session, "smtp", b"Subject: x\r\n\r\nx", message_id="m1@example.com")
            apply_decision(session, raw, create("m1@example.com"), attachments_dir, NOW)
            raise RuntimeError("the caller fails after applying")
    with session_scope(engine) as session:
        assert session.exec(select(Ticket)).all() == []


def test_two_inboxes_deciding_the_same_message_at_once_open_one_ticket(engine, attachments_dir):
    """A customer Cc'ing support@ and billing@: both inboxes' passes decide CreateTicket together."""
    import threading

    from connector.store.db import session_scope
    from connector.store.models import RawMail
    from connector.store.raw import store_raw

    with session_scope(engine) as setup:
        raws = [store_raw(setup, "gmail", b"Subject: cc\r\n\r\nhi\r\n", gmail_id=f"g{n}",
                          message_id="cc@example.com").id for n in range(2)]
    ready, outcomes = threading.Barrier(2), []

    def decide_and_apply(raw_id: int) -> None:
        with session_scope(engine) as session:
            ready.wait(timeout=10)
            outcomes.append(apply_decision(session, session.get(RawMail, raw_id), create("cc@example.com"),
                                           attachments_dir, NOW))

    threads = [threading.Thread(target=decide_and_apply, args=(raw_id,)) for raw_id in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    with session_scope(engine) as check:
        assert len(check.exec(select(Ticket)).all()) == 1
    assert sorted(o.kind.value for o in outcomes) == ["created", "skipped"]
