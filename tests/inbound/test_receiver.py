"""The SMTP receiver in a real SMTP conversation: who it accepts, what it stores, what it tickets."""
from __future__ import annotations

import smtplib
import socket

import pytest
from sqlmodel import select

from connector.inbound.server import InboundServer
from connector.store.db import session_scope
from connector.store.models import RawMail
from connector.store.queries import ticket_rows
from connector.store.raw import store_raw
from connector.store.suspended import suspended_rows
from tests.inbound.conftest import BILLING, MAX_BYTES, SALES, SUPPORT

CUSTOMER = "client@example.org"


def mail(subject: str = "Facture 42 ?", to: str = "facturation@masociete.com", msgid: str = "q1@example.org",
         body: str = "Bonjour, ma facture est fausse.") -> bytes:
    return (f"From: Client <{CUSTOMER}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            f"Date: Tue, 07 Apr 2026 10:00:00 +0000\r\n\r\n{body}\r\n").encode()


def send(receiver, rcpts, raw: bytes, sender: str = CUSTOMER):
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
        return client.sendmail(sender, rcpts, raw)


def raws(runtime) -> list[RawMail]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(RawMail).order_by(RawMail.id)))


def tickets(runtime) -> list[dict]:
    with session_scope(runtime.engine) as session:
        return ticket_rows(session)


def test_mail_for_a_support_address_is_stored_then_ticketed_in_its_group(runtime, receiver):
    raw = mail()
    assert send(receiver, [BILLING], raw) == {}
    [row] = raws(runtime)                       # committed before the 250 came back
    assert (row.source, row.raw, row.envelope_from, row.envelope_to) == ("smtp", raw, CUSTOMER, BILLING)
    receiver.wait_idle()
    [ticket] = tickets(runtime)
    assert (ticket["group"], ticket["received_at_address"], ticket["requester"]["email"]) == \
        ("Billing", BILLING, CUSTOMER)
    assert raws(runtime)[0].state == "processed"


def test_unknown_recipients_are_refused_at_rcpt_and_nothing_is_stored(runtime, receiver):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(receiver, ["nobody@helpdesk.example.com"], mail())
    code, text = refused.value.recipients["nobody@helpdesk.example.com"]
    assert code == 550 and b"5.1.1" in text
    assert send(receiver, ["nobody@helpdesk.example.com", SALES], mail()) == \
        {"nobody@helpdesk.example.com": (550, refused.value.recipients["nobody@helpdesk.example.com"][1])}
    receiver.wait_idle()
    [row] = raws(runtime)
    assert row.envelope_to == SALES and tickets(runtime)[0]["group"] == "Sales"


def test_several_support_addresses_make_one_ticket_routed_by_the_first(runtime, receiver):
    send(receiver, [SUPPORT, BILLING], mail(to="aide@masociete.com, facturation@masociete.com"))
    receiver.wait_idle()
    assert len(raws(runtime)) == 1
    [ticket] = tickets(runtime)
    assert (ticket["group"], ticket["received_at_address"]) == ("Support", SUPPORT)


def test_the_same_message_arriving_twice_is_one_ticket(runtime, receiver):
    send(receiver, [BILLING], mail())
    send(receiver, [SALES], mail())
    receiver.wait_idle()
    assert len(raws(runtime)) == 2 and len(tickets(runtime)) == 1
    assert raws(runtime)[1].outcome.startswith("skipped")


def test_oversized_mail_is_refused_by_declared_size_and_by_counted_data(runtime, receiver):
    big = mail(body=("x" * 70 + "\r\n") * (MAX_BYTES // 70 + 2))
    with pytest.raises(smtplib.SMTPSenderRefused) as declared:    # smtplib declares SIZE= itself
        send(receiver, [BILLING], big)
    assert declared.value.smtp_code == 552
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
        client.ehlo()
        assert client.mail(CUSTOMER)[0] == 250                     # no SIZE declared this time
        assert client.rcpt(BILLING)[0] == 250
        code, _ = client.data(big)
    assert code == 552
    receiver.wait_idle()
    assert raws(runtime) == []


def test_a_client_that_disconnects_mid_data_leaves_nothing_behind(runtime, receiver):
    with socket.create_connection((receiver.host, receiver.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        for command in (b"EHLO client.example.org", f"MAIL FROM:<{CUSTOMER}>".encode(), f"RCPT TO:<{BILLING}>".encode(),
                        b"DATA"):
            sock.sendall(command + b"\r\n")
            while (line := reader.readline())[3:4] == b"-":
                pass
            assert line[:1] in (b"2", b"3")
        sock.sendall(mail()[:60])                                   # half a message, then gone
        reader.close()
    send(receiver, [SALES], mail(msgid="later@example.org"))        # the server carries on
    receiver.wait_idle()
    assert [r.envelope_to for r in raws(runtime)] == [SALES]


def test_malformed_mail_is_accepted_kept_and_handled(runtime, receiver):
    raw = (b"From: \xff\xfe broken <<<\r\nContent-Type: multipart/mixed; boundary=\"never\"\r\n"
           b"Subject: =?bogus?Q?x?=\r\n\r\n--wrong\r\n\x00\x01 no end\r\n")
    send(receiver, [BILLING], raw, sender="")
    receiver.wait_idle()
    [row] = raws(runtime)
    assert row.raw == raw and row.state == "processed"
    with session_scope(runtime.engine) as session:
        held = suspended_rows(session)
    assert len(tickets(runtime)) + len(held) == 1


def test_mail_stored_but_not_ticketed_before_a_stop_is_ticketed_at_the_next_start(runtime):
    with session_scope(runtime.engine) as session:
        store_raw(session, "smtp", mail(), message_id="q1@example.org", envelope_to=[SALES])
    with InboundServer(runtime, "127.0.0.1", 0) as server:
        server.wait_idle()
    [ticket] = tickets(runtime)
    assert ticket["group"] == "Sales"
