"""A "Gmail Forwarding Confirmation" is attached only when Google sent it and it names the external address."""
from __future__ import annotations

import smtplib

import pytest

from connector.inbound.server import InboundServer
from connector.store.addresses import get_external
from connector.store.db import session_scope
from connector.store.suspended import suspended_rows
from sandbox.forwarding import confirmation_mail
from tests.inbound.conftest import BILLING

EXTERNAL = "facturation@masociete.com"
GOOGLE_LINK = "https://mail-settings.google.com/mail/vf-%5BANGjdJ8%5D-abc"
NO_REQUESTER = (b"From: Gmail Team <forwarding-noreply@google.com>\r\nTo: facturation@helpdesk.example.com\r\n"
                b"Subject: Gmail Forwarding Confirmation\r\nMessage-ID: <c3@google.com>\r\n\r\n"
                b"Someone would like to forward mail to you. Confirm here:\r\n\r\n" + GOOGLE_LINK.encode() + b"\r\n")


def _receive(runtime, envelope_sender: str, raw: bytes):
    with InboundServer(runtime, "127.0.0.1", 0) as receiver:
        with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
            client.sendmail(envelope_sender, [BILLING], raw)
        receiver.wait_idle()
    with session_scope(runtime.engine) as session:
        row = get_external(session, EXTERNAL)
        return (row.confirmation_code, row.confirmation_link, row.state), suspended_rows(session)


@pytest.mark.parametrize("sender", ["forwarding-noreply@google.com", "bounce-7f3a@gaia.bounces.google.com"])
def test_googles_own_confirmation_is_attached(runtime, sender):
    raw, code = confirmation_mail(EXTERNAL, BILLING, GOOGLE_LINK)
    attached, held = _receive(runtime, sender, raw)
    assert attached == (code, GOOGLE_LINK, "awaiting_confirmation") and held == []


@pytest.mark.parametrize("sender", ["forwarding-noreply@random-host.example", "x@google.com.random-host.example", ""])
def test_a_confirmation_sent_from_another_host_is_held_as_possibly_forged(runtime, sender):
    raw, _ = confirmation_mail(EXTERNAL, BILLING, GOOGLE_LINK)
    attached, [held] = _receive(runtime, sender, raw)
    assert attached == (None, None, "not_configured")
    assert held["kind"] == "forwarding" and "not from a google.com sender; it may be forged" in held["reason"]


def test_a_confirmation_naming_no_requesting_address_is_held(runtime):
    attached, [held] = _receive(runtime, "forwarding-noreply@google.com", NO_REQUESTER)
    assert attached == (None, None, "not_configured")
    assert "from (unknown)" in held["reason"] and "no external address expects" in held["reason"]
