"""Against Google's Pub/Sub emulator: mail becomes a ticket by push alone, a dropped notification is
recovered by the safety-net poll, a burst is one or two passes, and watch refusals fall back to polling."""
from __future__ import annotations

from connector import demo_mail
from connector.store.db import session_scope
from connector.store.queries import ticket_rows
from tests.push.conftest import SUPPORT, wait_for


def _tickets(runtime) -> list[dict]:
    with session_scope(runtime.engine) as session:
        return ticket_rows(session)


def _calls(sandbox, method: str, mailbox: str = SUPPORT) -> int:
    return sandbox.core.quota.calls.get(mailbox, {}).get(method, 0)


def _started(world, **overrides):
    """One daemon with push on one connected inbox, watched and past its first pass."""
    runtime = world.runtime(**overrides)
    world.connect(runtime, SUPPORT)
    world.start_daemon(runtime)
    wait_for(lambda: (row := world.watch_row(runtime)) and row.expiration, 15, "a watch")
    wait_for(lambda: world.cursor(runtime), 10, "the first pass")
    return runtime


def test_a_mail_becomes_a_ticket_by_push_alone_with_polls_an_hour_apart(world, sandbox):
    runtime = _started(world)

    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))

    wait_for(lambda: len(_tickets(runtime)) == 1, 10, "the ticket, by push")
    row = world.watch_row(runtime)
    assert row.notifications >= 1 and row.last_notification_at is not None and row.recovered_by_poll == 0


def test_a_burst_of_thirty_mails_is_one_or_two_passes_not_thirty(world, sandbox):
    runtime = _started(world)
    before = _calls(sandbox, "history.list")

    for n in range(30):
        sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 100 + n))

    wait_for(lambda: len(_tickets(runtime)) == 30, 20, "thirty tickets")
    passes = _calls(sandbox, "history.list") - before
    # Our own label changes notify too: at most one more pass, which finds nothing new.
    assert 1 <= passes <= 4, passes


def test_a_dropped_notification_is_recovered_by_the_safety_net_poll(world, sandbox):
    runtime = _started(world, push_fallback_poll_seconds=10)
    sandbox.core.faults.add({"method": "push.notify", "status": 500, "times": 1})

    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 7))

    wait_for(lambda: len(_tickets(runtime)) == 1, 25, "the ticket, by the safety-net poll")
    assert sandbox.core.push.dropped == 1
    wait_for(lambda: world.watch_row(runtime).recovered_by_poll == 1, 5, "the recovery counted")


def test_a_watch_refused_for_a_missing_topic_shows_the_fix_and_the_inbox_keeps_polling(world, sandbox, emulator):
    runtime = world.runtime(pubsub_topic=f"projects/{emulator.project}/topics/never-made", poll_interval_seconds=2)
    world.connect(runtime, SUPPORT)
    world.start_daemon(runtime)
    row = wait_for(lambda: (r := world.watch_row(runtime)) and r.error and r, 10, "the refusal")
    assert "does not exist: create it" in row.error and row.expiration is None

    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 3))

    wait_for(lambda: len(_tickets(runtime)) == 1, 10, "the ticket, by polling")


def test_a_watch_gmail_may_not_publish_to_names_the_role_to_grant(world, sandbox):
    sandbox.core.push.publisher_granted = False
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    world.start_daemon(runtime)
    row = wait_for(lambda: (r := world.watch_row(runtime)) and r.error and r, 10, "the refusal")
    assert "gmail-api-push@system.gserviceaccount.com" in row.error and "roles/pubsub.publisher" in row.error


def test_mail_already_there_at_the_first_pass_is_not_counted_as_missed_by_push(world, sandbox):
    for n in range(2):
        sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 40 + n))
    runtime = _started(world)
    wait_for(lambda: len(_tickets(runtime)) == 2, 10, "the backfill")
    assert world.watch_row(runtime).recovered_by_poll == 0
