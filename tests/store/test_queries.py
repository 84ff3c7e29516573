"""JSON rows for `tickets list/show` and `suspended list`, and recovering held-back mail."""
import hashlib
import json
from datetime import timedelta

import pytest

from connector.mail.decision import AddComment, CreateTicket, NewComment, Suspend
from connector.mail.model import Address, Attachment
from connector.store.inboxes import add_inbox
from connector.store.queries import ticket_detail, ticket_rows
from connector.store.suspended import delete_suspended, recover_suspended, suspended_rows
from connector.store.tickets import apply_decision

from .conftest import NOW

ANN = Address("Ann", "ann@example.com")
LOGO = b"\x89PNG pretend logo"


def _comment(message_id, *attachments, public=True):
    return NewComment(author=ANN, body_text=f"text of {message_id}", body_html=None, public=public,
                      message_id=message_id, attachments=attachments)


def _seed(session, raw_mail, attachments_dir) -> int:
    inbox = add_inbox(session, "help@example.com")
    logo = Attachment("logo.png", "image/png", len(LOGO), hashlib.sha256(LOGO).hexdigest(), "logo1", True, LOGO)
    create = CreateTicket(subject="Printer", requester=ANN, group="Hardware", received_at_address="help@example.com",
                          comment=_comment("m1@example.com", logo), flags=("bulk",))
    apply_decision(session, raw_mail(inbox_id=inbox.id, gmail_id="g1", thread_id="t1"), create, attachments_dir, NOW)
    ticket_id = ticket_rows(session)[0]["id"]
    apply_decision(session, raw_mail(), AddComment(ticket_id, _comment("m2@example.com", public=False), False),
                   attachments_dir, NOW + timedelta(hours=1))
    return ticket_id


def test_ticket_rows_have_the_documented_shape(session, raw_mail, attachments_dir):
    ticket_id = _seed(session, raw_mail, attachments_dir)
    rows = ticket_rows(session)
    assert rows == [{
        "id": ticket_id, "subject": "Printer", "status": "new",
        "requester": {"name": "Ann", "email": "ann@example.com"}, "group": "Hardware",
        "inbox": "help@example.com", "received_at_address": "help@example.com", "comment_count": 2,
        "flags": ["bulk"], "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T13:00:00Z",
    }]
    json.dumps(rows)  # plain JSON types only


def test_ticket_detail_adds_comments_with_attachments(session, raw_mail, attachments_dir):
    ticket_id = _seed(session, raw_mail, attachments_dir)
    detail = ticket_detail(session, ticket_id)
    assert {k: v for k, v in detail.items() if k not in ("comments", "helpdesk")} == ticket_rows(session)[0]
    assert detail["helpdesk"] == [], "not delivered to any helpdesk (HELPDESK=builtin)"
    first, second = detail["comments"]
    assert first == {
        "id": first["id"], "author": {"name": "Ann", "email": "ann@example.com"}, "public": True,
        "message_id": "m1@example.com", "body_text": "text of m1@example.com",
        "attachments": [{"filename": "logo.png", "content_type": "image/png", "size": len(LOGO),
                         "sha256": hashlib.sha256(LOGO).hexdigest(), "content_id": "logo1", "inline": True}],
        "created_at": "2024-05-01T12:00:00Z",
    }
    assert (second["public"], second["attachments"], second["created_at"]) == (False, [], "2024-05-01T13:00:00Z")
    json.dumps(detail)
    assert ticket_detail(session, ticket_id + 1) is None


def test_tickets_list_newest_first_and_empty_when_none(session, raw_mail, attachments_dir):
    assert ticket_rows(session) == []
    for n in (1, 2):
        create = CreateTicket(subject=f"T{n}", requester=ANN, group="Support", received_at_address="",
                              comment=_comment(f"t{n}@example.com"))
        apply_decision(session, raw_mail(), create, attachments_dir, NOW)
    rows = ticket_rows(session)
    assert [r["subject"] for r in rows] == ["T2", "T1"]
    assert rows[0]["inbox"] is None and rows[0]["flags"] == []


@pytest.fixture
def held(session, raw_mail, attachments_dir):
    raw = raw_mail(from_email="noreply@example.net", subject="Out of office")
    apply_decision(session, raw, Suspend(reason="auto-reply (Auto-Submitted: auto-replied)", kind="auto_reply"),
                   attachments_dir, NOW)
    return raw


def test_suspended_rows_have_the_documented_shape(session, held):
    rows = suspended_rows(session)
    assert rows == [{"id": rows[0]["id"], "reason": "auto-reply (Auto-Submitted: auto-replied)",
                     "kind": "auto_reply", "from": "noreply@example.net", "subject": "Out of office",
                     "received_at": "2024-05-01T12:00:00Z"}]
    assert suspended_rows(session, state="recovered") == []
    with pytest.raises(ValueError):
        suspended_rows(session, state="bogus")


def test_recover_returns_the_raw_mail_once(session, held):
    suspended_id = suspended_rows(session)[0]["id"]
    raw = recover_suspended(session, suspended_id)
    assert raw.id == held.id and raw.raw == held.raw
    assert suspended_rows(session) == [] and len(suspended_rows(session, "recovered")) == 1
    assert recover_suspended(session, suspended_id) is None
    assert recover_suspended(session, suspended_id + 1) is None


def test_held_back_again_after_recovery_is_listed_again(session, held, attachments_dir):
    recover_suspended(session, suspended_rows(session)[0]["id"])
    apply_decision(session, held, Suspend(reason="still an auto-reply", kind="auto_reply"), attachments_dir, NOW)
    assert [r["reason"] for r in suspended_rows(session)] == ["still an auto-reply"]


def test_delete_hides_the_mail_but_keeps_its_bytes(session, held):
    suspended_id = suspended_rows(session)[0]["id"]
    assert delete_suspended(session, suspended_id) is True
    assert suspended_rows(session) == [] and len(suspended_rows(session, "deleted")) == 1
    assert delete_suspended(session, suspended_id) is False
    assert recover_suspended(session, suspended_id) is None
    session.refresh(held)
    assert held.raw.startswith(b"Subject:")
