"""Mail text holding NUL characters is stored on every backend; PostgreSQL text cannot hold NUL."""
from sqlmodel import select

from connector.mail.decision import CreateTicket, NewComment
from connector.mail.model import Address
from connector.store.models import Comment, RawMail, Ticket
from connector.store.tickets import apply_decision
from tests.store.conftest import NOW


def _readable(text: str) -> str:
    # SQLite keeps the NUL as given; PostgreSQL gets U+FFFD in its place. Both read the same here.
    return text.replace("\x00", "\ufffd")


def test_a_subject_and_a_body_with_nul_become_a_ticket(session, raw_mail, attachments_dir):
    raw = raw_mail(subject="Invoice\x00 42", message_id="nul\x00@example.com")
    author = Address("Ann\x00", "ann@example.com")
    comment = NewComment(author=author, body_text="hello\x00world", body_html="<p>hi\x00</p>", public=True,
                         message_id="nul\x00@example.com")
    decision = CreateTicket(subject="Invoice\x00 42", requester=author, group="Support",
                            received_at_address="help@example.com", comment=comment)
    apply_decision(session, raw, decision, attachments_dir, NOW)
    session.flush()
    ticket = session.exec(select(Ticket)).one()
    stored = session.exec(select(Comment)).one()
    assert _readable(ticket.subject) == "Invoice\ufffd 42" and _readable(ticket.requester_name) == "Ann\ufffd"
    assert _readable(stored.body_text) == "hello\ufffdworld" and _readable(stored.body_html) == "<p>hi\ufffd</p>"
    assert _readable(session.exec(select(RawMail.subject)).one()) == "Invoice\ufffd 42"


def test_a_lookup_by_a_value_with_nul_finds_what_was_stored(session, raw_mail):
    raw_mail(subject="a\x00b", message_id="id\x00@example.com")
    session.flush()
    found = session.exec(select(RawMail.id).where(RawMail.message_id == "id\x00@example.com")).all()
    assert len(found) == 1
