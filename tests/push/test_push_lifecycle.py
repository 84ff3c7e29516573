"""A watch's life: renewed after it lapses, stopped when the inbox is paused or removed, shown in the
status and in `inboxes list --json`; stray and malformed notifications are acked and counted."""
from __future__ import annotations

import json
from datetime import timedelta

from connector import demo_mail
from connector.admin.status import build_status
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, set_state
from connector.store.types import utcnow
from jobs.push_watch import keep_watch, stop_unsynced_watches
from tests.push.conftest import SUPPORT, wait_for


def _watched(world, runtime):
    return wait_for(lambda: (row := world.watch_row(runtime)) and row.expiration and row, 15, "a watch")


def test_a_lapsed_watch_is_renewed_at_the_next_pass(world, sandbox):
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    assert keep_watch(runtime, SUPPORT) == "watching"
    assert keep_watch(runtime, SUPPORT) is None                  # renewed daily, not at every pass
    assert keep_watch(runtime, SUPPORT, now=lambda: utcnow() + timedelta(days=1, minutes=1)) == "watching"
    sandbox.core.push.expire(SUPPORT)
    later = utcnow() + timedelta(days=7, minutes=1)              # past the stored expiration
    assert keep_watch(runtime, SUPPORT, now=lambda: later) == "watching"
    assert sandbox.core.quota.calls[SUPPORT]["watch"] == 3


def test_pausing_an_inbox_stops_its_watch_and_resuming_watches_again(world, sandbox):
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    keep_watch(runtime, SUPPORT)
    with session_scope(runtime.engine) as session:
        set_state(session, get_inbox(session, SUPPORT), "paused")
    assert stop_unsynced_watches(runtime) == [SUPPORT]
    assert SUPPORT not in sandbox.core.watches and world.watch_row(runtime).expiration is None
    with session_scope(runtime.engine) as session:
        set_state(session, get_inbox(session, SUPPORT), "active")
    assert keep_watch(runtime, SUPPORT) == "watching" and SUPPORT in sandbox.core.watches


def test_removing_an_inbox_stops_its_watch(world, sandbox, monkeypatch):
    from connector.cli import main
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    keep_watch(runtime, SUPPORT)
    _cli_env(world, monkeypatch)
    assert main(["--env-file", "/dev/null", "inboxes", "remove", SUPPORT]) == 0
    assert SUPPORT not in sandbox.core.watches


def _cli_env(world, monkeypatch) -> None:
    env = world.settings()
    for key, value in {"DATA_DIR": str(env.data_dir), "DATABASE_URL": env.database_url,
                       "GMAIL_API_ENDPOINT": env.gmail_api_endpoint, "PUBSUB_TOPIC": env.pubsub_topic,
                       "PUBSUB_SUBSCRIPTION": env.pubsub_subscription,
                       "PUBSUB_EMULATOR_HOST": env.pubsub_emulator_host}.items():
        monkeypatch.setenv(key, value)


def test_inboxes_list_json_carries_the_push_object(world, monkeypatch, capsys):
    from connector.cli import main
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    keep_watch(runtime, SUPPORT)
    _cli_env(world, monkeypatch)
    capsys.readouterr()
    assert main(["--env-file", "/dev/null", "inboxes", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["push"]["enabled"] and row["push"]["watch_expiration"] and row["push"]["error"] is None


def test_status_and_inboxes_list_show_each_inbox_push(world, sandbox, capsys):
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    parts = world.start_daemon(runtime)
    _watched(world, runtime)
    wait_for(lambda: world.cursor(runtime), 10, "the first pass")
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 5))
    wait_for(lambda: world.watch_row(runtime).notifications >= 1, 10, "a notification")
    with session_scope(runtime.engine) as session:
        status = build_status(session, utcnow(), parts.scheduler, settings=runtime.settings)
    [inbox] = status["inboxes"]
    assert inbox["push"]["enabled"] and inbox["push"]["watch_expiration"] and inbox["push"]["notifications"] >= 1
    assert status["push"]["configured"] and status["push"]["listener"]["received"] >= 1


def test_notifications_for_unknown_addresses_and_malformed_ones_are_acked_and_counted(world, admin, emulator):
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    parts = world.start_daemon(runtime)
    admin.notify(world.topic, "stranger@elsewhere.example", 12345)
    admin.publish(world.topic, b"not json at all")
    counters = parts.push.counters
    wait_for(lambda: counters.unknown == 1 and counters.malformed == 1 and counters.acked >= 2, 10, "both acked")
    assert parts.push.pending == 0


def test_unusable_pubsub_credentials_never_stop_the_daemon_and_are_shown(world, tmp_path):
    runtime = world.runtime(pubsub_emulator_host="", pubsub_credentials_file=str(tmp_path / "missing.json"))
    world.connect(runtime, SUPPORT)
    parts = world.start_daemon(runtime)
    wait_for(lambda: parts.push.counters.last_error, 5, "the error recorded")
    assert "PUBSUB_CREDENTIALS_FILE" in parts.push.counters.last_error
    assert parts.scheduler.scheduler_running()


def test_a_stored_mark_asks_for_a_pass_once_then_again_only_when_it_changes_or_after_a_while(world):
    from connector.store.push import mark_wanted
    from jobs.push_listener import NUDGE_EVERY, PushListener
    runtime = world.runtime()
    world.connect(runtime, SUPPORT)
    with session_scope(runtime.engine) as session:
        inbox_id = get_inbox(session, SUPPORT).id
        mark_wanted(session, {inbox_id: 500}, {inbox_id: 1}, utcnow())
    asked, clock = [], [100.0]
    listener = PushListener(runtime, lambda: None, lambda: {SUPPORT}, asked.append, clock=lambda: clock[0])
    listener.settle()
    listener.settle()                                   # the same mark, at once: no second pass
    assert asked == [SUPPORT]
    with session_scope(runtime.engine) as session:
        mark_wanted(session, {inbox_id: 600}, {inbox_id: 1}, utcnow())
    listener.settle()                                   # a newer mark: at once
    clock[0] += NUDGE_EVERY
    listener.settle()                                   # the same mark, a while later (a failing pass)
    assert asked == [SUPPORT] * 3


def test_while_the_listener_cannot_pull_watched_inboxes_poll_at_the_normal_interval(world):
    runtime = world.runtime(poll_interval_seconds=30, push_fallback_poll_seconds=300)
    world.connect(runtime, SUPPORT)
    keep_watch(runtime, SUPPORT)
    from connector.bootstrap import daemon_parts
    parts = daemon_parts(runtime)
    assert parts.scheduler._intervals_of({SUPPORT}) == {SUPPORT: 300}
    parts.push.counters.last_error = "SubscriptionMissing: projects/p/subscriptions/s"
    assert parts.scheduler._intervals_of({SUPPORT}) == {SUPPORT: 30}
