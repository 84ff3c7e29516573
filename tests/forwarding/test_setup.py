"""Forwarding setup against the sandbox: service account, guided consumer Gmail, idempotence, repair."""
from __future__ import annotations

import pytest

from connector.forwarding import states
from connector.store.addresses import is_verified
from connector.store.db import session_scope
from jobs.forwarding import SetupError, check_forwarding, ensure_forwarding, recheck_forwarding_daily
from jobs.forwarding_verify import await_verification, start_verification
from tests.forwarding.conftest import AIDE, CONSUMER, FACTURATION, support_of


def verify(world, external, send_from=None, timeout=5.0):
    token = start_verification(world.runtime, external, send_from).token
    return await_verification(world.runtime, external, token, timeout)


def test_service_account_setup_waits_for_confirmation_then_creates_the_filter_once(world):
    world.map(FACTURATION)
    world.connect(FACTURATION, "Billing", service_account=True)

    report = ensure_forwarding(world.runtime, FACTURATION)

    assert (report.state, report.method, report.created_address) == (states.AWAITING, "service_account", True)
    world.receiver.wait_idle()
    [confirmation] = [s for s in world.sandbox.core.sent if s["kind"] == "confirmation"]
    row = world.row(FACTURATION)
    assert row.confirmation_code == confirmation["code"] and "forwarding/confirm" in row.confirmation_link
    assert check_forwarding(world.runtime) == {FACTURATION: states.AWAITING}   # not clicked yet
    world.click_confirmation_link(FACTURATION)
    assert check_forwarding(world.runtime) == {FACTURATION: states.ACTIVE}
    [rule] = world.filters(FACTURATION)
    assert rule["action"] == {"forward": support_of(FACTURATION)}
    assert rule["criteria"] == {"query": f"deliveredto:{FACTURATION}"}

    again = ensure_forwarding(world.runtime, FACTURATION)
    assert (again.state, again.created_address, again.created_filter) == (states.ACTIVE, False, False)
    assert len(world.filters(FACTURATION)) == 1 and len(world.sandbox.core.settings[FACTURATION].forwarding) == 1


def test_criteria_and_disposition_shape_the_filter(world):
    world.map(FACTURATION)
    world.connect(FACTURATION, service_account=True)
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    ensure_forwarding(world.runtime, FACTURATION, criteria="subject:facture", disposition="archive")
    [rule] = world.filters(FACTURATION)
    assert rule["criteria"] == {"query": "subject:facture"}
    assert rule["action"] == {"forward": support_of(FACTURATION), "removeLabelIds": ["INBOX"]}
    with pytest.raises(ValueError):
        ensure_forwarding(world.runtime, FACTURATION, disposition="trash")


def test_a_plain_user_token_gets_gmails_403_and_is_told_to_use_guided_setup(world):
    world.map(FACTURATION)
    world.connect(FACTURATION)                                   # authorized_user, not a service account
    with pytest.raises(SetupError, match="--guided"):
        ensure_forwarding(world.runtime, FACTURATION, method="service_account")
    assert world.row(FACTURATION).state == states.NOT_CONFIGURED


def test_guided_setup_for_consumer_gmail_watches_until_accepted(world):
    world.map(CONSUMER, "Support")
    world.connect(CONSUMER)

    report = ensure_forwarding(world.runtime, CONSUMER)          # the API says 403: guided it is

    assert (report.method, report.state) == ("guided", states.AWAITING)
    assert any(support_of(CONSUMER) in step for step in report.steps)
    assert check_forwarding(world.runtime) == {CONSUMER: states.AWAITING}
    world.sandbox.core.create_forwarding(CONSUMER, support_of(CONSUMER))   # the person, in Gmail's settings
    world.click_confirmation_link(CONSUMER)
    assert world.row(CONSUMER).confirmation_code
    assert check_forwarding(world.runtime) == {CONSUMER: states.ACTIVE}
    assert len(world.filters(CONSUMER)) == 1


def test_verified_then_a_deleted_filter_degrades_and_a_repair_alone_does_not_reopen_outgoing_mail(world):
    world.map(FACTURATION)
    world.connect(FACTURATION, "Billing", service_account=True)
    world.connect(AIDE, service_account=True)                    # sends the test mail
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    check_forwarding(world.runtime)

    row = verify(world, FACTURATION)

    assert row.state == states.VERIFIED and row.verified_at is not None and row.failure_reason is None
    with session_scope(world.runtime.engine) as session:
        assert is_verified(session, FACTURATION)
    [rule] = world.filters(FACTURATION)
    world.sandbox.core.settings[FACTURATION].delete_filter(rule["id"])
    assert recheck_forwarding_daily(world.runtime) == {FACTURATION: states.FAILED}
    assert "filter" in world.row(FACTURATION).failure_reason
    repaired = ensure_forwarding(world.runtime, FACTURATION)
    assert (repaired.state, repaired.created_filter) == (states.ACTIVE, True)
    with session_scope(world.runtime.engine) as session:
        assert not is_verified(session, FACTURATION)
    assert verify(world, FACTURATION).state == states.VERIFIED


def test_a_forwarding_address_removed_in_gmail_fails_the_daily_recheck(world):
    world.map(FACTURATION)
    world.connect(FACTURATION, service_account=True)
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    check_forwarding(world.runtime)
    world.sandbox.core.settings[FACTURATION].delete_forwarding(support_of(FACTURATION))
    assert recheck_forwarding_daily(world.runtime) == {FACTURATION: states.FAILED}
    assert "was removed from" in world.row(FACTURATION).failure_reason


def test_verification_that_never_arrives_fails_with_what_to_check(world):
    world.map(FACTURATION)
    world.connect(FACTURATION, service_account=True)
    world.connect(AIDE, service_account=True)
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    check_forwarding(world.runtime)
    world.sandbox.core.smtp_routes.clear()                       # our MX is unreachable from Gmail

    row = verify(world, FACTURATION, timeout=0.3)

    assert row.state == states.FAILED and "did not reach" in row.failure_reason and "MX" in row.failure_reason


def test_setup_needs_a_mapped_address_and_gmails_path_a_grant_without_one_it_is_another_provider(world):
    with pytest.raises(SetupError, match="addresses add"):
        ensure_forwarding(world.runtime, FACTURATION)
    world.map(FACTURATION)
    with pytest.raises(SetupError, match="no Gmail grant .* --provider other"):
        ensure_forwarding(world.runtime, FACTURATION, method="service_account")
    report = ensure_forwarding(world.runtime, FACTURATION)          # no grant: any other provider
    assert (report.method, report.state) == ("provider", states.AWAITING)
    assert any(support_of(FACTURATION) in step for step in report.steps)
    assert world.row(FACTURATION).provider == states.OTHER
    world.connect(FACTURATION, "Billing", service_account=True)      # a Gmail grant after all: Gmail's path
    report = ensure_forwarding(world.runtime, FACTURATION)
    assert (report.method, report.state, report.created_address) == ("service_account", states.AWAITING, True)
    assert (world.row(FACTURATION).provider, report.steps) == (states.GMAIL, [])


def test_a_to_filter_made_by_an_older_version_keeps_forwarding_and_setup_replaces_it(world):
    """Before the deliveredto: query the filter was {"to": external}, which Gmail matches on To/Cc/Bcc only."""
    world.map(FACTURATION)
    world.connect(FACTURATION, "Billing", service_account=True)
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    check_forwarding(world.runtime)
    settings = world.sandbox.core.settings[FACTURATION]
    [current] = world.filters(FACTURATION)
    settings.filters.clear()
    settings.create_filter({"criteria": {"to": FACTURATION}, "action": {"forward": support_of(FACTURATION)}},
                           world.sandbox.core.mailbox(FACTURATION).labels)
    recheck_forwarding_daily(world.runtime)
    assert world.row(FACTURATION).state == states.ACTIVE
    assert [r["criteria"] for r in world.filters(FACTURATION)] == [{"to": FACTURATION}], "left alone daily"
    ensure_forwarding(world.runtime, FACTURATION)
    assert [r["criteria"] for r in world.filters(FACTURATION)] == [current["criteria"]]


def test_a_mailbox_at_gmails_filter_cap_fails_with_the_fix_not_retries_forever(world):
    world.map(FACTURATION)
    world.connect(FACTURATION, "Billing", service_account=True)
    settings = world.sandbox.core.settings[FACTURATION]
    labels = world.sandbox.core.mailbox(FACTURATION).labels
    for n in range(1000):
        settings.create_filter({"criteria": {"from": f"n{n}@x.example"}, "action": {"addLabelIds": ["STARRED"]}},
                               labels)
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    check_forwarding(world.runtime)
    row = world.row(FACTURATION)
    assert row.state == states.FAILED and "1000 Gmail filters" in row.failure_reason


def _calls(world, mailbox: str, method: str) -> int:
    return world.sandbox.core.quota.calls.get(mailbox, {}).get(method, 0)


def test_gmails_forwarding_rules_limit_defers_the_filter_with_our_own_backoff_not_its_retry_time(world):
    from datetime import timedelta
    from connector.store.types import utcnow
    from sandbox.errors import for_reason
    world.map(FACTURATION)
    world.connect(FACTURATION, "Billing", service_account=True)
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    world.sandbox.core.faults.add({"method": "settings.filters.create", "reason": "forwardingRulesLimit", "times": 2})
    assert "(Forwarding rules)" in for_reason("forwardingRulesLimit").message     # "retry after a minute"

    start = utcnow()
    assert check_forwarding(world.runtime, now=lambda: start) == {FACTURATION: states.AWAITING}
    row = world.row(FACTURATION)
    assert "limit on changing forwarding rules" in row.failure_reason and row.rule_refusals == 1
    assert row.retry_at - start >= timedelta(minutes=5)      # Gmail said a minute; that is not trusted
    assert world.filters(FACTURATION) == [] and _calls(world, FACTURATION, "settings.filters.create") == 0

    lists = _calls(world, FACTURATION, "settings.filters.list")
    assert check_forwarding(world.runtime, now=lambda: start + timedelta(minutes=2)) == {}   # still waiting
    assert _calls(world, FACTURATION, "settings.filters.list") == lists                  # and asks nothing

    later = row.retry_at + timedelta(seconds=1)
    assert check_forwarding(world.runtime, now=lambda: later) == {FACTURATION: states.AWAITING}
    second = world.row(FACTURATION)
    assert second.rule_refusals == 2 and second.retry_at - later >= timedelta(minutes=10)   # doubled

    done = second.retry_at + timedelta(seconds=1)
    assert check_forwarding(world.runtime, now=lambda: done) == {FACTURATION: states.ACTIVE}
    final = world.row(FACTURATION)
    assert len(world.filters(FACTURATION)) == 1
    assert (final.retry_at, final.rule_refusals, final.failure_reason) == (None, 0, None)


def test_the_forwarding_rules_limit_on_adding_the_address_tells_when_to_run_setup_again(world):
    world.map(FACTURATION)
    world.connect(FACTURATION, "Billing", service_account=True)
    world.sandbox.core.faults.add({"method": "settings.forwardingAddresses.create",
                                   "reason": "forwardingRulesLimit", "times": 1})
    with pytest.raises(SetupError, match="run forwarding setup again after"):
        ensure_forwarding(world.runtime, FACTURATION)
    assert world.row(FACTURATION).state == states.NOT_CONFIGURED
    assert ensure_forwarding(world.runtime, FACTURATION).created_address
