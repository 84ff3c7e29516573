"""Held-back mail that came in forwarded by SMTP is recovered into the group of the support address it reached."""
from __future__ import annotations

import smtplib

from connector.inbound.server import InboundServer
from connector.store.db import session_scope
from connector.store.queries import ticket_rows
from connector.store.suspended import suspended_rows
from connector.mail.outcome import OutcomeKind
from connector.ticketing.ticket_mail import recover_suspended_mail
from tests.inbound.conftest import BILLING

AUTO_REPLY = (b"From: Compta <compta@client.example>\r\nTo: facturation@masociete.com\r\n"
              b"Subject: Absent: facture 42\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <absent-42@client.example>\r\n"
              b"Date: Tue, 07 Apr 2026 10:00:00 +0000\r\n\r\nJe suis absent, mais la facture 42 est fausse.\r\n")


def test_a_recovered_forwarded_mail_goes_to_its_support_address_group(runtime):
    with InboundServer(runtime, "127.0.0.1", 0) as receiver:
        with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
            client.sendmail("compta@client.example", [BILLING], AUTO_REPLY)
        receiver.wait_idle()
    with session_scope(runtime.engine) as session:
        [held] = suspended_rows(session)
        assert ticket_rows(session) == []

    outcome = recover_suspended_mail(runtime.ticketing, held["id"])

    with session_scope(runtime.engine) as session:
        [ticket] = ticket_rows(session)
    assert outcome is not None and outcome.kind is OutcomeKind.CREATED
    assert ticket["group"] == "Billing", "the group of facturation@helpdesk.example.com, not the default"
