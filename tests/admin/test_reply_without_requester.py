"""POST /api/tickets/{id}/replies refuses a reply to a ticket that has no requester address, with 409."""
from __future__ import annotations

import pytest
from sqlmodel import select

from connector.store.db import session_scope
from connector.store.models import Ticket
from connector.store.outbound_models import OutgoingMail


@pytest.fixture
def nobody_ticket(runtime) -> int:
    """A ticket as mail without a usable From leaves it: no requester address (or one that is not one)."""
    with session_scope(runtime.engine) as session:
        ticket = session.exec(select(Ticket).order_by(Ticket.id)).first()
        ticket.requester_email = ""
        return ticket.id


def test_a_reply_to_nobody_is_a_409_with_the_reason(runtime, serve, nobody_ticket):
    response = serve(runtime).post(f"/api/tickets/{nobody_ticket}/replies", json={"body": "We are on it."})

    assert response.status_code == 409
    assert response.json() == {"detail": f"ticket {nobody_ticket} has no requester address to reply to; "
                                         'nothing queued ("private": true adds an internal note instead)'}
    with session_scope(runtime.engine) as session:
        assert list(session.exec(select(OutgoingMail))) == []


@pytest.mark.parametrize("address", ["undisclosed-recipients:;", "a@b.example, c@d.example", "ann@example.com\n"])
def test_an_address_that_is_not_one_mailbox_is_nobody_too(runtime, serve, nobody_ticket, address):
    with session_scope(runtime.engine) as session:
        session.get(Ticket, nobody_ticket).requester_email = address
    assert serve(runtime).post(f"/api/tickets/{nobody_ticket}/replies", json={"body": "x"}).status_code == 409


def test_a_private_note_on_it_is_still_allowed(runtime, serve, nobody_ticket):
    response = serve(runtime).post(f"/api/tickets/{nobody_ticket}/replies",
                                   json={"body": "Scanner mail; call the office.", "private": True})
    assert response.status_code == 201 and response.json()["state"] == "private"


def test_the_schema_documents_the_409(runtime, serve):
    operation = serve(runtime).get("/openapi.json").json()["paths"]["/api/tickets/{ticket_id}/replies"]["post"]
    assert "requester" in operation["responses"]["409"]["description"]
