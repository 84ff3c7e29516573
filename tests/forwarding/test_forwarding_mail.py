"""Google's confirmation mail and our test mail: recognised first, never a ticket, never an auto-reply."""
from __future__ import annotations

from datetime import datetime, timezone

from connector.forwarding.confirmation import parse_confirmation
from connector.forwarding.verification import count_hops, verification_mail
from connector.mail.decision import Arrival, CreateTicket, ForwardingMail, Skip
from connector.mail.parse import parse_mail
from connector.mail.pipeline import decide
from sandbox.forwarding import confirmation_mail, forwarded_copy

NOW = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)
EXTERNAL, SUPPORT = "facturation@masociete.com", "facturation@helpdesk.example.com"
TOKEN = "0123456789abcdef0123456789abcdef"
NEWER_GOOGLE_TEXT = (
    "From: Gmail Team <forwarding-noreply@google.com>\r\nTo: facturation@helpdesk.example.com\r\n"
    "Subject: Gmail Forwarding Confirmation - Receive Mail from facturation@masociete.com\r\n"
    "Auto-Submitted: auto-generated\r\nMessage-ID: <c2@google.com>\r\n\r\n"
    "facturation@masociete.com has requested to automatically forward mail to your email address\r\n"
    "facturation@helpdesk.example.com.\r\n\r\nTo allow facturation@masociete.com to automatically forward mail "
    "to your address, please click the link below to confirm the request:\r\n\r\n"
    "https://mail-settings.google.com/mail/vf-%5BANGjdJ8%5D-abc\r\n\r\n"
    "To learn more, visit http://support.google.com/mail/answer/10957\r\n").encode()


class NoTickets:
    support_addresses = frozenset({EXTERNAL, SUPPORT})

    def ticket_for_message_ids(self, ids): return None
    def ticket_for_gmail_thread(self, inbox, thread): return None
    def ticket_by_id(self, ticket_id): return None
    def comment_exists(self, ticket_id, mid): return False
    def recent_mail_count(self, sender, since): return 0


def run(raw: bytes, source: str = "smtp", at: str = SUPPORT):
    arrival = Arrival(source=source, inbox_address=at, received_at_address=at, group="Billing", received_at=NOW)
    return decide(parse_mail(raw), arrival, NoTickets(), NOW)


def test_google_confirmation_is_set_aside_with_its_code_and_link():
    raw, code = confirmation_mail(EXTERNAL, SUPPORT, "https://mail-settings.google.com/mail/vf-%5Bx%5D-y")
    trace = run(raw)
    decision = trace.decision
    assert isinstance(decision, ForwardingMail) and decision.kind == "confirmation"
    assert (decision.code, decision.requested_by, decision.received_at_address) == (code, EXTERNAL, SUPPORT)
    assert decision.link == "https://mail-settings.google.com/mail/vf-%5Bx%5D-y"
    assert [name for name, _ in trace.steps] == ["refuse_too_complex", "recognise_forwarding_mail"]


def test_a_newer_confirmation_without_a_code_still_yields_the_link_and_not_the_help_link():
    decision = run(NEWER_GOOGLE_TEXT).decision
    assert isinstance(decision, ForwardingMail)
    assert decision.code is None and decision.requested_by == EXTERNAL
    assert decision.link == "https://mail-settings.google.com/mail/vf-%5BANGjdJ8%5D-abc"
    found = parse_confirmation("Gmail Forwarding Confirmation", "no link here")
    assert (found.code, found.link, found.requested_by) == (None, None, "")


def test_our_test_mail_counts_only_when_it_arrives_forwarded():
    raw = verification_mail(EXTERNAL, EXTERNAL, TOKEN, NOW)
    seen_in_gmail = run(raw, source="gmail", at=EXTERNAL).decision
    assert isinstance(seen_in_gmail, Skip) and "arrives forwarded" in seen_in_gmail.reason
    copy, _ = forwarded_copy(b"Delivered-To: " + EXTERNAL.encode() + b"\r\n" + raw, EXTERNAL, SUPPORT)
    arrived = run(copy).decision
    assert isinstance(arrived, ForwardingMail) and (arrived.kind, arrived.token, arrived.hops) == \
        ("verification", TOKEN, 1)


def test_hops_count_every_forward_and_ordinary_mail_passes_through():
    twice = (("Delivered-To", "a@x.example"), ("X-Forwarded-For", "a@x.example b@y.example"),
             ("Delivered-To", "b@y.example"), ("X-Forwarded-For", "b@y.example " + SUPPORT))
    assert count_hops(twice, SUPPORT) == 2
    assert count_hops((("Delivered-To", SUPPORT),), SUPPORT) == 0
    plain = b"From: client@example.org\r\nSubject: [fwd-test:nothex] hello\r\nMessage-ID: <p@x>\r\n\r\nhi\r\n"
    trace = run(plain)
    assert isinstance(trace.decision, CreateTicket) and trace.steps[1] == ("recognise_forwarding_mail",
                                                                           "not about forwarding")
