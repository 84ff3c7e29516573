"""What the receiver concludes from a test mail: verified, wrong support address, multi-hop, unknown."""
from __future__ import annotations

import smtplib
from datetime import datetime, timezone

from connector.forwarding import states
from connector.forwarding.verification import verification_mail
from connector.store.db import session_scope
from connector.store.queries import ticket_rows
from jobs.forwarding import save
from sandbox.forwarding import forwarded_copy
from tests.forwarding.conftest import AIDE, ANCIEN, FACTURATION, support_of

NOW = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)
TOKEN = "feedfacefeedfacefeedfacefeedface"


def expect_token(world) -> None:
    world.map(FACTURATION, "Billing")
    world.map(AIDE, "Support")
    save(world.runtime, FACTURATION, NOW, state=states.ACTIVE, verification_token=TOKEN, verification_sent_at=NOW)


def forwarded(*through: str) -> bytes:
    raw = verification_mail(FACTURATION, AIDE, TOKEN, NOW)
    for mailbox in through:
        raw, _ = forwarded_copy(f"Delivered-To: {mailbox}\r\n".encode() + raw, mailbox, "next@hop.example")
    return raw


def receive(world, rcpt: str, raw: bytes) -> None:
    with smtplib.SMTP(world.receiver.host, world.receiver.port, timeout=10) as client:
        client.sendmail("facturation+caf_@masociete.com", [rcpt], raw)
    world.receiver.wait_idle()


def no_tickets(world) -> bool:
    with session_scope(world.runtime.engine) as session:
        return ticket_rows(session) == []


def test_the_test_mail_forwarded_once_to_the_right_support_address_verifies(world):
    expect_token(world)
    receive(world, support_of(FACTURATION), forwarded(FACTURATION))
    row = world.row(FACTURATION)
    assert (row.state, row.verification_token, row.failure_reason) == (states.VERIFIED, None, None)
    assert no_tickets(world)


def test_arriving_at_another_support_address_fails_precisely(world):
    expect_token(world)
    receive(world, support_of(AIDE), forwarded(FACTURATION))
    row = world.row(FACTURATION)
    assert row.state == states.FAILED and f"arrived at {support_of(AIDE)}" in row.failure_reason
    assert no_tickets(world)


def test_multi_hop_forwarding_is_detected(world):
    expect_token(world)
    receive(world, support_of(FACTURATION), forwarded(ANCIEN, FACTURATION))
    row = world.row(FACTURATION)
    assert row.state == states.FAILED and "multi-hop forwarding detected" in row.failure_reason
    assert "2 forwards" in row.failure_reason


def test_a_test_mail_with_an_unknown_token_changes_nothing_and_is_no_ticket(world):
    expect_token(world)
    receive(world, support_of(FACTURATION), forwarded(FACTURATION).replace(TOKEN.encode(), b"0" * 32))
    assert world.row(FACTURATION).state == states.ACTIVE and no_tickets(world)


def test_a_confirmation_no_setup_expects_is_held_for_a_person(world):
    from connector.store.suspended import suspended_rows
    from sandbox.forwarding import confirmation_mail

    world.map(FACTURATION, "Billing")
    raw, _ = confirmation_mail("stranger@elsewhere.example", support_of(FACTURATION), "https://x.example/vf-1")
    receive(world, support_of(FACTURATION), raw)
    with session_scope(world.runtime.engine) as session:
        [held] = suspended_rows(session)
    assert held["kind"] == "forwarding" and "no external address expects" in held["reason"]
    assert world.row(FACTURATION).confirmation_link is None
