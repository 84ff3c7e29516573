"""Routing a received message to one support address: envelope first, then the forwarding headers."""
from connector.ticketing.route import pick_support_address

KNOWN = {"facturation@helpdesk.example.com": "Billing", "aide@helpdesk.example.com": "Support"}
HEADERS = (("Delivered-To", "someone@elsewhere.example"), ("X-Forwarded-To", "Aide <AIDE@helpdesk.example.com>"),
           ("X-Original-To", "facturation@helpdesk.example.com"), ("Subject", "x"))


def test_the_first_known_envelope_recipient_wins():
    assert pick_support_address(["x@y.example", "Facturation@helpdesk.example.com", "aide@helpdesk.example.com"],
                                HEADERS, KNOWN) == "facturation@helpdesk.example.com"


def test_without_a_known_envelope_recipient_the_headers_decide_in_order():
    assert pick_support_address([], HEADERS, KNOWN) == "aide@helpdesk.example.com"
    only_original = tuple(("X-Other" if k == "X-Forwarded-To" else k, v) for k, v in HEADERS)
    assert pick_support_address(["x@y.example"], only_original, KNOWN) == "facturation@helpdesk.example.com"
    assert pick_support_address([], (("Subject", "nothing"),), KNOWN) is None
