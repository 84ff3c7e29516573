"""Connected inboxes: adding, state changes, sync bookkeeping and removal."""
from datetime import timedelta

import pytest
from sqlmodel import select

from connector.mail.decision import CreateTicket, NewComment
from connector.mail.model import Address
from connector.store.inboxes import (InboxExists, add_inbox, get_inbox, list_inboxes, record_failure,
                                     record_success, remove_inbox, set_state)
from connector.store.models import Credential, RawMail, Ticket, TicketThread
from connector.store.tickets import apply_decision

from .conftest import NOW


def test_addresses_are_stored_lower_case_and_unique(session):
    inbox = add_inbox(session, " Help@Example.COM ", group="Billing", credential_ref="/secrets/help.json", now=NOW)
    assert (inbox.address, inbox.group, inbox.mode, inbox.state) == ("help@example.com", "Billing", "direct", "active")
    assert (inbox.created_at, inbox.history_id, inbox.backfill_done) == (NOW, None, False)
    assert get_inbox(session, "HELP@example.com").id == inbox.id
    assert get_inbox(session, "nobody@example.com") is None
    with pytest.raises(InboxExists):
        add_inbox(session, "help@EXAMPLE.com")


def test_unknown_modes_and_states_are_refused(session):
    with pytest.raises(ValueError, match="mode"):
        add_inbox(session, "a@example.com", mode="imap")
    inbox = add_inbox(session, "a@example.com")
    with pytest.raises(ValueError, match="state"):
        set_state(session, inbox, "sleeping")


def test_list_is_sorted_by_address(session):
    for address in ("zed@example.com", "amy@example.com"):
        add_inbox(session, address)
    assert [i.address for i in list_inboxes(session)] == ["amy@example.com", "zed@example.com"]


def test_a_failure_backs_off_and_a_success_clears_it(session):
    inbox = add_inbox(session, "help@example.com")
    later = NOW + timedelta(minutes=5)
    record_failure(session, inbox, "rate_limited", "quota exceeded", later, now=NOW)
    record_failure(session, inbox, "transient", "503 from Gmail", later, now=NOW)
    session.flush()
    session.refresh(inbox)
    assert (inbox.consecutive_failures, inbox.backoff_until, inbox.state) == (2, later, "active")
    assert (inbox.last_error, inbox.last_error_at) == ("transient: 503 from Gmail", NOW)
    record_success(session, inbox, later, history_id="1234", imported=3, backfill_done=True)
    record_success(session, inbox, later, imported=2)
    session.flush()
    session.refresh(inbox)
    assert (inbox.consecutive_failures, inbox.backoff_until, inbox.history_id) == (0, None, "1234")
    assert (inbox.imported_total, inbox.backfill_done, inbox.last_success_at) == (5, True, later)


def test_a_revoked_grant_needs_consent_again_until_a_sync_succeeds(session):
    inbox = add_inbox(session, "help@example.com")
    record_failure(session, inbox, "auth_revoked", "consent again", None, now=NOW)
    assert inbox.state == "needs_reauth"
    record_success(session, inbox, NOW)
    assert inbox.state == "active"
    set_state(session, inbox, "paused")
    record_failure(session, inbox, "auth_revoked", "consent again", None, now=NOW)
    assert inbox.state == "paused"


def test_removing_an_inbox_keeps_its_tickets_and_mail(session, raw_mail, attachments_dir):
    inbox = add_inbox(session, "help@example.com")
    session.add(Credential(inbox_id=inbox.id, kind="authorized_user", secret_ciphertext=b"\x00sealed"))
    ann = Address("Ann", "ann@example.com")
    decision = CreateTicket(subject="Hi", requester=ann, group="Support", received_at_address="help@example.com",
                            comment=NewComment(ann, "hi", None, True, "m1@example.com"))
    apply_decision(session, raw_mail(inbox_id=inbox.id, gmail_id="g1", thread_id="t1"), decision,
                   attachments_dir, NOW)
    assert remove_inbox(session, "HELP@example.com") is True
    session.expire_all()
    assert get_inbox(session, "help@example.com") is None
    assert session.exec(select(Ticket.inbox_id)).all() == [None]
    assert session.exec(select(RawMail.inbox_id)).all() == [None]
    assert session.exec(select(Credential)).all() == [] and session.exec(select(TicketThread)).all() == []
    assert remove_inbox(session, "help@example.com") is False
