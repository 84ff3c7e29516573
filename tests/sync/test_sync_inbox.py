"""Inbox sync end to end: the real Google adapter against the sandbox, a real SQLite store."""
from __future__ import annotations

from sqlmodel import select

from connector import demo_mail
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.models import RawMail
from connector.store.queries import ticket_detail, ticket_rows
from connector.store.suspended import suspended_rows
from tests.sync.conftest import BILLING, SUPPORT, connect, control, stats, sync


def _tickets(runtime):
    with session_scope(runtime.engine) as session:
        return ticket_rows(session)


def _suspended(runtime):
    with session_scope(runtime.engine) as session:
        return suspended_rows(session)


def _imported_label_id(runtime, address=SUPPORT):
    gateway = runtime.open_gateway(address)
    try:
        labels = gateway.labels()
    finally:
        gateway.close()
    return next(label.id for label in labels if label.name == "Helpdesk/Imported")


def test_backfill_turns_requests_into_tickets_and_holds_back_machine_mail(runtime, sandbox):
    ids = [sandbox.core.deliver(SUPPORT, raw) for raw in demo_mail.demo_inbox_mail(SUPPORT)]
    connect(runtime, sandbox, SUPPORT)

    report = sync(runtime)

    assert report.ok and report.mode == "backfill" and report.imported == 7
    tickets = _tickets(runtime)
    assert len(tickets) == 4                       # three requests (one answered again) and the newsletter
    by_subject = {t["subject"]: t for t in tickets}
    newsletter = by_subject["This week at Example: 5 tips"]
    assert newsletter["flags"] == ["bulk"]
    threaded = [t for t in tickets if t["comment_count"] == 2]
    assert len(threaded) == 1, "the customer's follow-up joins the first ticket"
    assert all(t["inbox"] == SUPPORT and t["group"] == "Support" for t in tickets)
    kinds = sorted(s["kind"] for s in _suspended(runtime))
    assert kinds == ["auto_reply", "bounce"]
    label = _imported_label_id(runtime)
    box = sandbox.core.mailbox(SUPPORT)
    assert all(label in box.messages[i].labels for i in ids), "every imported message is labelled in Gmail"


def test_incremental_sync_reads_history_and_threads_the_reply(runtime, sandbox):
    first = demo_mail.customer_mail(SUPPORT, 1)
    sandbox.core.deliver(SUPPORT, first)
    connect(runtime, sandbox, SUPPORT)
    assert sync(runtime).imported == 1

    sandbox.core.deliver(SUPPORT, demo_mail.reply_to(first, 2))
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 3))
    report = sync(runtime)

    assert report.ok and report.mode == "incremental" and report.imported == 2
    assert report.outcomes.created == 1 and report.outcomes.commented == 1
    assert stats(sandbox)["calls"].get("history.list", 0) >= 1
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, SUPPORT)
        assert inbox.history_id == report.history_id and inbox.imported_total == 3


def test_nothing_is_imported_twice(runtime, sandbox):
    raw = demo_mail.customer_mail(SUPPORT, 1)
    sandbox.core.deliver(SUPPORT, raw)
    connect(runtime, sandbox, SUPPORT)
    sync(runtime)
    assert sync(runtime).imported == 0

    sandbox.core.deliver(SUPPORT, raw)             # the same message delivered a second time
    report = sync(runtime)

    assert report.imported == 1 and report.outcomes.skipped == 1
    tickets = _tickets(runtime)
    assert len(tickets) == 1 and tickets[0]["comment_count"] == 1


def test_expired_history_falls_back_to_a_resync_without_duplicates(runtime, sandbox):
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    connect(runtime, sandbox, SUPPORT)
    sync(runtime)
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 2))
    control(sandbox, "expire-history", {"mailbox": SUPPORT})

    report = sync(runtime)

    assert report.ok and report.mode == "resync"
    assert report.outcomes.created == 1
    assert len(_tickets(runtime)) == 2
    assert sync(runtime).mode == "incremental"


def test_injected_server_errors_are_retried(runtime, sandbox):
    for raw in (demo_mail.customer_mail(SUPPORT, n) for n in range(1, 4)):
        sandbox.core.deliver(SUPPORT, raw)
    connect(runtime, sandbox, SUPPORT)
    control(sandbox, "faults", {"method": "messages.get", "status": 503, "times": 2})
    control(sandbox, "faults", {"method": "messages.list", "status": 500, "times": 1})
    control(sandbox, "faults", {"method": "messages.batchModify", "status": 429, "times": 1})

    report = sync(runtime)

    assert report.ok, report.error
    assert len(_tickets(runtime)) == 3


def test_persistent_failure_is_recorded_and_backed_off(runtime, sandbox):
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    connect(runtime, sandbox, SUPPORT)
    control(sandbox, "faults", {"method": "messages.get", "status": 500, "times": 100})

    report = sync(runtime)

    assert not report.ok
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, SUPPORT)
        assert inbox.history_id is None, "the cursor does not move past mail that was not imported"
        assert inbox.consecutive_failures == 1 and inbox.backoff_until is not None
    control(sandbox, "faults", method="DELETE")
    assert sync(runtime).imported == 1


def test_a_hintless_403_rate_limit_that_outlasts_the_retries_backs_the_inbox_off_and_loses_nothing(runtime,
                                                                                                    sandbox):
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    connect(runtime, sandbox, SUPPORT)
    control(sandbox, "faults", {"method": "messages.list", "status": 403, "reason": "userRateLimitExceeded",
                                "times": 100})

    report = sync(runtime)

    assert not report.ok
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, SUPPORT)
        assert inbox.last_error.startswith("rate_limited"), inbox.last_error
        assert inbox.history_id is None and inbox.backoff_until is not None
        # No retry time came with the answer, so the wait is the inbox's own: at least half a poll interval.
        waited = (inbox.backoff_until - inbox.last_error_at).total_seconds()
        assert waited >= runtime.settings.poll_interval_seconds / 2
    control(sandbox, "faults", method="DELETE")
    assert sync(runtime).imported == 1


def test_a_revoked_grant_stops_only_its_own_inbox(runtime, sandbox):
    for address in (SUPPORT, BILLING):
        sandbox.core.deliver(address, demo_mail.customer_mail(address, 1))
        connect(runtime, sandbox, address, group="Billing" if address == BILLING else "Support")
    control(sandbox, "revoke", {"mailbox": BILLING})

    billing = sync(runtime, BILLING)
    support = sync(runtime, SUPPORT)

    assert billing.error_kind == "auth_revoked" and f"auth add {BILLING}" in billing.error
    assert support.ok and support.imported == 1
    with session_scope(runtime.engine) as session:
        assert get_inbox(session, BILLING).state == "needs_reauth"
    assert sync(runtime, BILLING).mode == "skipped"


def test_spam_trash_and_sent_mail_never_become_tickets(runtime, sandbox):
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1), label_ids=["SPAM"])
    connect(runtime, sandbox, SUPPORT)
    sync(runtime)
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 2), label_ids=["TRASH"])
    sandbox.core.send(SUPPORT, demo_mail.customer_mail("customer@gmail.com", 3))
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 4))

    report = sync(runtime)

    assert report.imported == 1
    assert len(_tickets(runtime)) == 1


def test_quota_units_per_imported_message_stay_within_budget(runtime, sandbox):
    for n in range(150):
        sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, n, attachment=False))
    connect(runtime, sandbox, SUPPORT)

    report = sync(runtime)

    assert report.imported == 150
    units = stats(sandbox)["units_total"]
    assert units / report.imported <= 21, f"{units} units for {report.imported} messages"


def test_raw_mail_is_kept_byte_for_byte(runtime, sandbox):
    raw = demo_mail.customer_mail(SUPPORT, 9, attachment=True)
    sandbox.core.deliver(SUPPORT, raw)
    connect(runtime, sandbox, SUPPORT)
    sync(runtime)
    ticket_id = _tickets(runtime)[0]["id"]
    with session_scope(runtime.engine) as session:
        stored = session.exec(select(RawMail)).one()
        # Gmail prepends its own trace headers (Delivered-To, Received); the rest is the sender's bytes.
        assert bytes(stored.raw).endswith(raw) and stored.state == "processed"
        ticket = ticket_detail(session, ticket_id)
    attachment = ticket["comments"][0]["attachments"][0]
    assert attachment["filename"] == "screenshot-9.png" and attachment["content_type"] == "image/png"


def test_a_sender_flooding_the_inbox_is_suspended_beyond_twenty_an_hour(runtime, sandbox):
    for n in range(23):
        sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 7, attachment=False)
                             .replace(b"Message-ID: <", f"Message-ID: <n{n}-".encode()))
    connect(runtime, sandbox, SUPPORT)

    report = sync(runtime)

    assert report.imported == 23
    assert report.outcomes.suspended == 3
    assert {s["kind"] for s in _suspended(runtime)} == {"loop"}


def test_googles_forwarding_confirmation_synced_from_gmail_is_attached_not_ticketed(runtime, sandbox):
    from connector.store.addresses import add_external_address, get_external
    from sandbox.forwarding import confirmation_mail

    with session_scope(runtime.engine) as session:
        add_external_address(session, "facturation@example.org", SUPPORT, "Billing")
    raw, code = confirmation_mail("facturation@example.org", SUPPORT, f"{sandbox.url}/confirm?t=1")
    sandbox.core.deliver(SUPPORT, raw)
    connect(runtime, sandbox, SUPPORT)

    report = sync(runtime)

    assert report.ok and report.imported == 1
    assert _tickets(runtime) == [] and _suspended(runtime) == []
    with session_scope(runtime.engine) as session:
        assert get_external(session, "facturation@example.org").confirmation_code == code


def test_mail_released_from_spam_is_imported_then(runtime, sandbox):
    spam_id = sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1), label_ids=["SPAM", "UNREAD"])
    connect(runtime, sandbox, SUPPORT)
    sync(runtime)
    assert _tickets(runtime) == []

    gateway = runtime.open_gateway(SUPPORT)
    try:
        gateway.modify_labels([spam_id], add=["INBOX"], remove=["SPAM"])    # an agent clicks "Not spam"
    finally:
        gateway.close()
    report = sync(runtime)

    assert report.ok and report.imported == 1 and len(_tickets(runtime)) == 1


def test_mail_a_gmail_filter_archived_on_arrival_is_not_a_request(runtime, sandbox):
    connect(runtime, sandbox, SUPPORT)
    sync(runtime)
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1), label_ids=["UNREAD"])

    report = sync(runtime)

    assert report.ok and report.imported == 0 and _tickets(runtime) == []


def test_a_message_gmail_keeps_refusing_is_held_back_only_after_an_hour_and_recovered_later(runtime, sandbox):
    from datetime import timedelta

    from connector.store.fetch_failure_models import FetchFailure
    from connector.ticketing.ticket_mail import recover_suspended_mail
    from jobs.refetch_held_back import refetch_held_back
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    connect(runtime, sandbox, SUPPORT)
    control(sandbox, "faults", {"method": "messages.get", "status": 400, "rate": 1.0})
    for _ in range(3):
        report = sync(runtime)
        assert not report.ok and _suspended(runtime) == [], "never held back on Gmail's first answers"
    with session_scope(runtime.engine) as session:
        [failure] = session.exec(select(FetchFailure)).all()
        assert failure.attempts == 3
        failure.first_failed_at -= timedelta(hours=2)      # as if the first refusal were two hours old
        session.add(failure)

    report = sync(runtime)

    assert report.ok, report.error
    held = _suspended(runtime)
    assert [h["kind"] for h in held] == ["error"] and "4 times over 2.0 h" in held[0]["reason"]
    control(sandbox, "faults", method="DELETE")
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 2))
    assert sync(runtime).outcomes.created == 1, "the inbox goes on"
    assert refetch_held_back(runtime, held[0]["id"]) is True
    assert "created" in recover_suspended_mail(runtime.ticketing, held[0]["id"]).text
    assert len(_tickets(runtime)) == 2


def test_mail_the_search_index_had_not_seen_at_backfill_is_caught_up_next_pass(runtime, sandbox):
    """Gmail's search lags behind delivery by seconds; the sandbox's does not, so the lag is played here."""
    from connector.gmail.google import GoogleGmail

    class LaggingSearch(GoogleGmail):
        lagging = True

        def list_message_ids(self, query="", label_ids=(), limit=None, include_spam_trash=False):
            if LaggingSearch.lagging:
                LaggingSearch.lagging = False
                return []
            return super().list_message_ids(query, label_ids, limit, include_spam_trash)

    runtime.gateway_factory = lambda credentials, s, **rules: LaggingSearch(credentials, s.gmail_api_endpoint,
                                                                  sleep=lambda _: None, **rules)
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    connect(runtime, sandbox, SUPPORT)
    assert sync(runtime).imported == 0              # the backfill's search did not see it yet

    report = sync(runtime)

    assert report.mode == "incremental" and report.imported == 1
    assert sync(runtime).imported == 0


def test_gmails_transient_precondition_answer_is_retried_and_never_suspends_mail(runtime, sandbox):
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    connect(runtime, sandbox, SUPPORT)
    # Real Gmail's 400 "Precondition check failed." that a retry gets past (googleapis issue trackers).
    control(sandbox, "faults", {"method": "messages.get", "reason": "failedPrecondition", "times": 2})

    report = sync(runtime)

    assert report.ok, report.error
    assert len(_tickets(runtime)) == 1 and _suspended(runtime) == []


def test_a_precondition_answer_that_lasts_keeps_the_cursor_and_the_mail(runtime, sandbox):
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    connect(runtime, sandbox, SUPPORT)
    control(sandbox, "faults", {"method": "messages.get", "reason": "failedPrecondition", "rate": 1.0})

    report = sync(runtime)

    assert not report.ok and "Precondition check failed" in report.error
    assert _suspended(runtime) == [], "not suspended on Gmail's first answers"
    with session_scope(runtime.engine) as session:
        assert get_inbox(session, SUPPORT).history_id is None, "the cursor waits for the mail"
    control(sandbox, "faults", method="DELETE")
    assert sync(runtime).imported == 1 and len(_tickets(runtime)) == 1


def test_one_read_in_five_refused_for_a_precondition_and_one_in_ten_for_quota_loses_nothing(runtime, sandbox):
    for n in range(1, 31):
        sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, n).replace(
            b"Subject: ", f"Subject: [{n}] ".encode(), 1))
    connect(runtime, sandbox, SUPPORT)
    control(sandbox, "faults", {"method": "messages.get", "reason": "failedPrecondition", "rate": 0.2})
    # Google's per-user quota as a 403 with no retry time at all.
    control(sandbox, "faults", {"method": "messages.get", "reason": "userRateLimitExceeded", "rate": 0.1})
    for _ in range(10):                 # a pass that still met a fault leaves the rest to the next one
        if sync(runtime).ok:
            break
    assert len(_tickets(runtime)) == 30 and _suspended(runtime) == []
    control(sandbox, "faults", method="DELETE")
    assert sync(runtime).imported == 0, "nothing twice"
