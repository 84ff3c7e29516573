"""Forwarding addresses, filters and auto-forwarding: who may change them, and mail relayed over SMTP."""
from __future__ import annotations

import re
import urllib.request

import pytest
from googleapiclient.errors import HttpError

from sandbox_world import ALICE, HELPDESK_DOMAIN, SUPPORT, mail

SHARING = ["https://www.googleapis.com/auth/gmail.settings.sharing",
           "https://www.googleapis.com/auth/gmail.settings.basic"]
TICKETS = f"tickets@{HELPDESK_DOMAIN}"


@pytest.fixture
def admin(connect):
    """The service account with domain-wide delegation, acting as the support mailbox."""
    return connect(SUPPORT, service_account_scopes=SHARING)


def _confirm_link(raw: bytes) -> str:
    return re.search(rb"(http://127\.0\.0\.1:\d+/_sandbox/forwarding/confirm\?token=\S+)", raw).group(1).decode()


def test_plain_user_token_may_not_change_forwarding(gmail):
    settings = gmail.users().settings()
    for request in (settings.forwardingAddresses().create(userId="me", body={"forwardingEmail": TICKETS}),
                    settings.updateAutoForwarding(userId="me", body={"enabled": False})):
        with pytest.raises(HttpError) as caught:
            request.execute()
        assert caught.value.resp.status == 403
        assert caught.value.error_details[0]["reason"] == "forbidden"
        assert "domain-wide authority" in caught.value.reason


def test_foreign_forwarding_address_is_pending_until_the_mailed_link_is_followed(sandbox, admin, smtp_sink):
    created = admin.users().settings().forwardingAddresses().create(
        userId="me", body={"forwardingEmail": TICKETS}).execute()
    assert created == {"forwardingEmail": TICKETS, "verificationStatus": "pending"}
    envelope = smtp_sink.envelopes[-1]
    assert envelope.mail_from == "forwarding-noreply@google.com" and envelope.rcpt_tos == [TICKETS]
    assert re.search(rb"Subject: \(#\d{9}\) Gmail Forwarding Confirmation - Receive Mail from "
                     + SUPPORT.encode(), envelope.content)
    with urllib.request.urlopen(_confirm_link(envelope.content), timeout=5) as page:
        assert page.status == 200
    got = admin.users().settings().forwardingAddresses().get(userId="me", forwardingEmail=TICKETS).execute()
    assert got["verificationStatus"] == "accepted"


def test_same_domain_address_is_accepted_at_once_and_can_be_deleted(admin):
    addresses = admin.users().settings().forwardingAddresses()
    created = addresses.create(userId="me", body={"forwardingEmail": "team@masociete.com"}).execute()
    assert created["verificationStatus"] == "accepted"
    assert addresses.list(userId="me").execute()["forwardingAddresses"] == [created]
    addresses.delete(userId="me", forwardingEmail="team@masociete.com").execute()
    assert addresses.list(userId="me").execute() == {}


def test_filter_forwarding_needs_an_accepted_address(admin, gmail):
    body = {"criteria": {"to": SUPPORT}, "action": {"forward": TICKETS}}
    with pytest.raises(HttpError) as caught:
        gmail.users().settings().filters().create(userId="me", body=body).execute()
    assert caught.value.resp.status == 400
    assert caught.value.error_details[0]["reason"] == "failedPrecondition"


def _accept(sandbox, admin, smtp_sink, address=TICKETS):
    admin.users().settings().forwardingAddresses().create(userId="me", body={"forwardingEmail": address}).execute()
    sandbox.core.confirm_forwarding(_confirm_link(smtp_sink.envelopes[-1].content).rpartition("=")[2])


def test_filter_forwards_matching_mail_over_smtp_with_gmail_headers(sandbox, admin, gmail, smtp_sink):
    _accept(sandbox, admin, smtp_sink)
    label = gmail.users().labels().create(userId="me", body={"name": "Forwarded"}).execute()
    rule = gmail.users().settings().filters().create(userId="me", body={
        "criteria": {"subject": "printer"}, "action": {"forward": TICKETS, "addLabelIds": [label["id"]]}}).execute()
    assert gmail.users().settings().filters().get(userId="me", id=rule["id"]).execute() == rule
    matching = sandbox.core.deliver(SUPPORT, mail(subject="Printer broken"))
    sandbox.core.deliver(SUPPORT, mail(subject="Unrelated"))
    relayed = smtp_sink.envelopes[-1]
    assert len(smtp_sink.envelopes) == 2 and relayed.rcpt_tos == [TICKETS]
    assert relayed.mail_from == f"support+caf_=tickets={HELPDESK_DOMAIN}@masociete.com"
    assert f"X-Forwarded-To: {TICKETS}".encode() in relayed.content
    assert f"X-Forwarded-For: {SUPPORT} {TICKETS}".encode() in relayed.content
    assert label["id"] in sandbox.core.mailbox(SUPPORT).messages[matching].labels
    assert [r["message_id"] for r in sandbox.core.forwarded] == [matching]
    gmail.users().settings().filters().delete(userId="me", id=rule["id"]).execute()
    assert gmail.users().settings().filters().list(userId="me").execute() == {}


def test_auto_forwarding_relays_everything_and_applies_disposition(sandbox, admin, smtp_sink):
    _accept(sandbox, admin, smtp_sink)
    settings = admin.users().settings()
    updated = settings.updateAutoForwarding(userId="me", body={
        "enabled": True, "emailAddress": TICKETS, "disposition": "markRead"}).execute()
    assert updated == {"enabled": True, "emailAddress": TICKETS, "disposition": "markRead"}
    assert settings.getAutoForwarding(userId="me").execute() == updated
    mid = sandbox.core.deliver(SUPPORT, mail())
    assert smtp_sink.envelopes[-1].rcpt_tos == [TICKETS]
    assert "UNREAD" not in sandbox.core.mailbox(SUPPORT).messages[mid].labels


def test_consumer_accounts_refuse_domain_wide_delegation(connect):
    with pytest.raises(Exception) as caught:
        connect(ALICE, service_account_scopes=SHARING).users().getProfile(userId="me").execute()
    assert "unauthorized_client" in str(caught.value)


def test_send_as_lists_the_primary_address(gmail):
    listed = gmail.users().settings().sendAs().list(userId="me").execute()["sendAs"]
    assert listed[0]["sendAsEmail"] == SUPPORT and listed[0]["isPrimary"] is True
    assert gmail.users().settings().sendAs().get(userId="me", sendAsEmail=SUPPORT).execute() == listed[0]


def test_an_identical_second_filter_is_refused_but_another_action_is_a_new_filter(gmail):
    filters = gmail.users().settings().filters()
    body = {"criteria": {"from": "noisy@example.com"}, "action": {"removeLabelIds": ["INBOX"]}}
    first = filters.create(userId="me", body=body).execute()
    with pytest.raises(HttpError) as caught:
        filters.create(userId="me", body=body).execute()
    assert caught.value.resp.status == 400 and caught.value.reason == "Filter already exists"
    other = filters.create(userId="me", body={**body, "action": {"addLabelIds": ["STARRED"]}}).execute()
    assert [f["id"] for f in filters.list(userId="me").execute()["filter"]] == [first["id"], other["id"]]


def test_a_filter_beyond_the_thousand_filter_cap_is_a_500(sandbox, gmail):
    box = sandbox.core.mailbox(SUPPORT)
    for n in range(1000):
        sandbox.core.settings[SUPPORT].create_filter(
            {"criteria": {"from": f"sender{n}@example.com"}, "action": {"removeLabelIds": ["INBOX"]}}, box.labels)
    with pytest.raises(HttpError) as caught:
        gmail.users().settings().filters().create(userId="me", body={
            "criteria": {"from": "one-more@example.com"}, "action": {"removeLabelIds": ["INBOX"]}}).execute()
    assert caught.value.resp.status == 500
    assert caught.value.error_details[0]["reason"] == "backendError"


def test_filter_to_criterion_reads_to_cc_and_bcc_never_delivered_to(sandbox, gmail):
    gmail.users().settings().filters().create(userId="me", body={
        "criteria": {"to": SUPPORT}, "action": {"addLabelIds": ["STARRED"]}}).execute()
    labels = lambda mid: sandbox.core.mailbox(SUPPORT).messages[mid].labels  # noqa: E731
    copied = sandbox.core.deliver(SUPPORT, mail(to="team@example.com", Cc=SUPPORT))
    blind = sandbox.core.deliver(SUPPORT, mail(to="team@example.com", Bcc=SUPPORT))
    envelope_only = sandbox.core.deliver(SUPPORT, mail(to="team@example.com"))   # a list or a hidden Bcc
    assert "STARRED" in labels(copied) and "STARRED" in labels(blind)
    assert "STARRED" not in labels(envelope_only)


def test_filter_text_criteria_match_as_gmail_search_does_whole_words_not_substrings(sandbox, gmail):
    # A Gmail filter is a saved search: "invoice" does not catch "invoices", "ann" catches Ann's address.
    gmail.users().settings().filters().create(userId="me", body={
        "criteria": {"subject": "invoice", "from": "ann"}, "action": {"addLabelIds": ["STARRED"]}}).execute()
    labels = lambda mid: sandbox.core.mailbox(SUPPORT).messages[mid].labels  # noqa: E731
    hit = sandbox.core.deliver(SUPPORT, mail(subject="Your invoice", sender="Ann Smith <ann@example.com>"))
    plural = sandbox.core.deliver(SUPPORT, mail(subject="Your invoices", sender="ann@example.com"))
    other = sandbox.core.deliver(SUPPORT, mail(subject="Your invoice", sender="joanna@example.com"))
    assert "STARRED" in labels(hit)
    assert "STARRED" not in labels(plural) and "STARRED" not in labels(other)
