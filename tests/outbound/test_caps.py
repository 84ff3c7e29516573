"""Our own count of Gmail sends per inbox: a mailbox at its daily cap waits without asking Gmail."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from connector.outbound.caps import daily_send_cap
from connector.store.db import session_scope
from connector.store.inboxes import add_inbox
from connector.store.models import Ticket
from connector.store.outbound import outbound_status
from connector.store.outbound_models import OutgoingMail
from jobs.outbound_queue import cap_reached_until

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def test_consumer_and_workspace_caps():
    assert daily_send_cap("someone@gmail.com") == 500
    assert daily_send_cap("someone@GoogleMail.com") == 500
    assert daily_send_cap("support@masociete.com") == 2000


def _sent_rows(engine, address: str, count: int, first: datetime) -> int:
    with session_scope(engine) as session:
        inbox = add_inbox(session, address, now=NOW)
        ticket = Ticket(subject="s", inbox_id=inbox.id)
        session.add(ticket)
        session.flush()
        session.add_all([OutgoingMail(ticket_id=ticket.id, inbox_id=inbox.id, from_address=address,
                                      message_id=f"m{i}@x", state="sent", transport="gmail",
                                      sent_at=first + timedelta(minutes=i)) for i in range(count)])
        return inbox.id


def test_a_consumer_mailbox_with_500_sends_in_24_hours_waits_for_the_oldest_to_age_out(engine):
    first = NOW - timedelta(hours=23)
    inbox_id = _sent_rows(engine, "helpdesk@gmail.com", 500, first)

    until = cap_reached_until(engine, inbox_id, "helpdesk@gmail.com", NOW)

    assert until == first + timedelta(hours=24)
    assert cap_reached_until(engine, inbox_id, "helpdesk@gmail.com", until + timedelta(seconds=1)) is None
    with session_scope(engine) as session:
        status = outbound_status(session, NOW)
    assert status["inboxes"]["helpdesk@gmail.com"] == {"sent_last_24h": 500, "daily_cap": 500, "waiting_cap": 0,
                                                       "waiting_until": None}
    assert status["by_state"]["sent"] == 500 and status["by_state"]["queued"] == 0


def test_a_workspace_mailbox_with_500_sends_may_still_send(engine):
    inbox_id = _sent_rows(engine, "support@masociete.com", 500, NOW - timedelta(hours=1))
    assert cap_reached_until(engine, inbox_id, "support@masociete.com", NOW) is None
