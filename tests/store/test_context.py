"""The pipeline's questions answered from the database."""
from datetime import timedelta

from connector.mail.decision import AddComment, CreateTicket, NewComment
from connector.mail.model import Address
from connector.store.context import SqlMailContext
from connector.store.inboxes import add_inbox
from connector.store.tickets import apply_decision

from .conftest import NOW

ANN = Address("Ann", "ann@example.com")
BOB = Address("Bob", "Bob@Example.org")


def _comment(message_id: str, author: Address) -> NewComment:
    return NewComment(author=author, body_text="hi", body_html=None, public=True, message_id=message_id)


def _ticket(session, raw_mail, attachments_dir, **raw_fields) -> int:
    decision = CreateTicket(subject="Help", requester=ANN, group="Support", received_at_address="help@example.com",
                            comment=_comment("first@example.com", ANN))
    apply_decision(session, raw_mail(**raw_fields), decision, attachments_dir, NOW)
    return SqlMailContext(session).ticket_for_message_ids(["first@example.com"]).id


def test_support_addresses_are_every_connected_inbox(session):
    add_inbox(session, "Help@Example.com")
    add_inbox(session, "sales@example.com")
    assert SqlMailContext(session).support_addresses == frozenset({"help@example.com", "sales@example.com"})


def test_a_reply_finds_its_ticket_by_any_referenced_message_id(session, raw_mail, attachments_dir):
    ticket_id = _ticket(session, raw_mail, attachments_dir)
    context = SqlMailContext(session)
    assert context.ticket_for_message_ids(["unknown@x", "first@example.com"]).id == ticket_id
    assert context.ticket_for_message_ids(["unknown@x"]) is None
    assert context.ticket_for_message_ids([]) is None


def test_a_gmail_thread_finds_its_ticket_only_in_its_own_inbox(session, raw_mail, attachments_dir):
    inbox = add_inbox(session, "help@example.com")
    add_inbox(session, "other@example.com")
    ticket_id = _ticket(session, raw_mail, attachments_dir, inbox_id=inbox.id, gmail_id="g1", thread_id="t1")
    context = SqlMailContext(session)
    assert context.ticket_for_gmail_thread("Help@Example.com", "t1").id == ticket_id
    assert context.ticket_for_gmail_thread("other@example.com", "t1") is None
    assert context.ticket_for_gmail_thread("help@example.com", "t2") is None


def test_participants_are_the_requester_and_everyone_who_wrote(session, raw_mail, attachments_dir):
    ticket_id = _ticket(session, raw_mail, attachments_dir)
    apply_decision(session, raw_mail(), AddComment(ticket_id, _comment("bob@example.org", BOB), False),
                   attachments_dir, NOW)
    ref = SqlMailContext(session).ticket_by_id(ticket_id)
    assert (ref.id, ref.status) == (ticket_id, "new")
    assert ref.participants == frozenset({"ann@example.com", "bob@example.org"})
    assert SqlMailContext(session).ticket_by_id(ticket_id + 100) is None


def test_comment_exists_is_per_ticket(session, raw_mail, attachments_dir):
    ticket_id = _ticket(session, raw_mail, attachments_dir)
    context = SqlMailContext(session)
    assert context.comment_exists(ticket_id, "first@example.com")
    assert not context.comment_exists(ticket_id, "other@example.com")
    assert not context.comment_exists(ticket_id + 1, "first@example.com")


def test_recent_mail_count_counts_one_sender_inside_the_window(session, raw_mail):
    for minutes in (1, 10, 59, 61, 120):
        raw_mail(from_email="Loop@Example.com", received_at=NOW - timedelta(minutes=minutes)).state = "processed"
    raw_mail(from_email="someone-else@example.com", received_at=NOW).state = "processed"
    raw_mail(from_email="loop@example.com", received_at=NOW)       # pending: the message being decided
    session.flush()
    context = SqlMailContext(session)
    assert context.recent_mail_count("loop@example.com", NOW - timedelta(hours=1)) == 3
    assert context.recent_mail_count("LOOP@example.com", NOW - timedelta(hours=3)) == 5
    assert context.recent_mail_count("nobody@example.com", NOW - timedelta(hours=3)) == 0


def test_it_offers_every_question_of_the_mail_context_protocol():
    import inspect

    from connector.mail.decision import MailContext

    for name, member in vars(MailContext).items():
        if callable(member) and not name.startswith("_"):
            ours = getattr(SqlMailContext, name)
            assert list(inspect.signature(ours).parameters) == list(inspect.signature(member).parameters), name
    assert "support_addresses" in MailContext.__annotations__
