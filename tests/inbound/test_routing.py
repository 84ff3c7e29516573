"""Routing a received message to one support address: envelope first, then the forwarding headers."""
from connector.inbound.routing import pick_support_address

KNOWN = {"facturation@helpdesk.example.com": "Billing", "aide@helpdesk.example.com": "Support"}
RAW = (b"Delivered-To: someone@elsewhere.example\r\nX-Forwarded-To: Aide <AIDE@helpdesk.example.com>\r\n"
       b"X-Original-To: facturation@helpdesk.example.com\r\nSubject: x\r\n\r\nbody\r\n")


def test_the_first_known_envelope_recipient_wins():
    assert pick_support_address(["x@y.example", "Facturation@helpdesk.example.com", "aide@helpdesk.example.com"],
                                RAW, KNOWN) == "facturation@helpdesk.example.com"


def test_without_a_known_envelope_recipient_the_headers_decide_in_order():
    assert pick_support_address([], RAW, KNOWN) == "aide@helpdesk.example.com"
    only_original = RAW.replace(b"X-Forwarded-To", b"X-Other")
    assert pick_support_address(["x@y.example"], only_original, KNOWN) == "facturation@helpdesk.example.com"
    assert pick_support_address([], b"Subject: nothing\r\n\r\n", KNOWN) is None
