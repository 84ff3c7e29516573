"""POST /api/tickets/{id}/replies: the admin API queues replies and private notes like the CLI does."""
from __future__ import annotations

import base64

from sqlmodel import select

from connector.store.db import session_scope
from connector.store.outbound_models import OutgoingMail


def first_ticket(client) -> int:
    return client.get("/tickets").json()[0]["id"]


def test_a_reply_is_stored_for_the_send_job(runtime, serve):
    client = serve(runtime)
    ticket = first_ticket(client)
    attachment = {"filename": "steps.txt", "content_type": "text/plain",
                  "content_base64": base64.b64encode(b"1. log out\n2. log in\n").decode()}

    response = client.post(f"/api/tickets/{ticket}/replies",
                           json={"body": "Please try these steps.", "attachments": [attachment]})

    assert response.status_code == 201, response.text
    queued = response.json()
    assert queued["ticket_id"] == ticket and queued["state"] == "queued" and queued["message_id"]
    with session_scope(runtime.engine) as session:
        row = session.exec(select(OutgoingMail).where(OutgoingMail.id == queued["id"])).one()
        assert row.state == "queued" and "steps.txt" in row.attachments


def test_a_private_note_is_never_queued_for_sending(runtime, serve):
    client = serve(runtime)
    response = client.post(f"/api/tickets/{first_ticket(client)}/replies",
                           json={"body": "Customer called, see CRM.", "private": True})
    assert response.status_code == 201 and response.json()["state"] == "private"


def test_refusals_are_clear(runtime, serve):
    client = serve(runtime)
    ticket = first_ticket(client)
    assert client.post("/api/tickets/999999/replies", json={"body": "hi"}).status_code == 404
    assert client.post(f"/api/tickets/{ticket}/replies", json={"body": ""}).status_code == 422
    bad = {"filename": "x.bin", "content_base64": "not base64!"}
    assert client.post(f"/api/tickets/{ticket}/replies", json={"body": "x", "attachments": [bad]}).status_code == 422
    assert serve(runtime, token=None).post(f"/api/tickets/{ticket}/replies", json={"body": "x"}).status_code == 401


def test_a_retried_post_with_the_same_idempotency_key_queues_one_reply(runtime, serve):
    from sqlmodel import Session, func

    client = serve(runtime)
    tickets = [t["id"] for t in client.get("/tickets").json()]
    headers = {"Idempotency-Key": "receiver-answer-77"}
    first = client.post(f"/api/tickets/{tickets[0]}/replies", json={"body": "Refunded."}, headers=headers)
    again = client.post(f"/api/tickets/{tickets[0]}/replies", json={"body": "Refunded."}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    with Session(runtime.engine) as session:
        assert session.exec(select(func.count()).select_from(OutgoingMail)).one() == 1
    other = client.post(f"/api/tickets/{tickets[1]}/replies", json={"body": "Refunded."}, headers=headers)
    assert other.status_code == 409 and "another ticket" in other.json()["detail"]
