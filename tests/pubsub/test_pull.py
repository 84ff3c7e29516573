"""The listener's story against Google's Pub/Sub emulator: Gmail publishes, we pull, decode and ack."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from connector.pubsub.port import Malformed, Notification, PubSubRejected, SubscriptionMissing
from tests.pubsub_emulator import ACK_DEADLINE

# Each test needs well under a few seconds once the emulator is up; a hang fails rather than waits.
pytestmark = pytest.mark.timeout(20)


def test_a_gmail_notification_is_pulled_decoded(channel, admin):
    message_id = admin.notify(channel.topic, "support@example.com", "4242")

    [pulled] = channel.source.pull(max_messages=10, wait=5)

    assert isinstance(pulled, Notification)
    assert (pulled.email_address, pulled.history_id, pulled.message_id) == ("support@example.com", 4242, message_id)
    assert pulled.ack_id
    assert abs(pulled.publish_time - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_several_notifications_come_in_one_pull(channel, admin):
    for history_id in (7, 8, 9):
        admin.notify(channel.topic, "billing@example.com", history_id)

    pulled = []
    while len(pulled) < 3:      # Pub/Sub may hand them over in more than one pull
        pulled += channel.source.pull(max_messages=10, wait=5)

    assert sorted(item.history_id for item in pulled) == [7, 8, 9]


def test_a_message_handed_back_is_delivered_again_at_once(channel, admin):
    admin.notify(channel.topic, "support@example.com", 100)
    [first] = channel.source.pull(10, wait=5)

    channel.source.extend([first.ack_id], 0)
    [again] = channel.source.pull(10, wait=5)

    assert again.message_id == first.message_id and again.ack_id != first.ack_id


def test_an_acked_message_does_not_come_back_even_when_handed_back(channel, admin):
    admin.notify(channel.topic, "support@example.com", 101)
    [pulled] = channel.source.pull(10, wait=5)

    channel.source.ack([pulled.ack_id])
    channel.source.extend([pulled.ack_id], 0)      # would redeliver it at once, were it not acked

    assert channel.source.pull(10, wait=1) == []


def test_messages_that_are_not_gmail_notifications_come_back_as_malformed(channel, admin):
    admin.publish(channel.topic, b"not json at all")
    admin.publish(channel.topic, b'{"historyId": "5"}')
    admin.publish(channel.topic, b'{"emailAddress": "a@example.com", "historyId": "soon"}')

    pulled = []
    while len(pulled) < 3:
        pulled += channel.source.pull(10, wait=5)

    assert all(isinstance(item, Malformed) and item.ack_id and item.message_id for item in pulled)
    assert sorted(item.reason for item in pulled) == [
        "emailAddress is missing or not an address", "historyId is missing or not a positive whole number",
        "the data is not JSON"]
    channel.source.ack([item.ack_id for item in pulled])
    channel.source.extend([item.ack_id for item in pulled], 0)
    assert channel.source.pull(10, wait=1) == []


def test_a_pull_with_nothing_waiting_returns_empty_within_the_wait(channel):
    started = time.monotonic()

    assert channel.source.pull(10, wait=1) == []

    assert 0.9 < time.monotonic() - started < 3


def test_a_pull_wakes_up_as_soon_as_gmail_publishes(channel, admin):
    publisher = threading.Timer(0.5, admin.notify, (channel.topic, "support@example.com", 55))
    started = time.monotonic()
    publisher.start()
    try:
        [pulled] = channel.source.pull(10, wait=15)
    finally:
        publisher.join()

    assert pulled.history_id == 55 and time.monotonic() - started < 5


def test_acking_nothing_asks_nothing(channel):
    channel.source.ack([])
    channel.source.extend([], 30)


def test_an_ack_id_pubsub_never_gave_is_rejected(channel):
    with pytest.raises(PubSubRejected, match="acknowledge"):
        channel.source.ack(["not-an-ack-id"])


def test_pulling_a_missing_subscription_names_it(emulator):
    from connector.pubsub.google import GooglePubSub

    name = f"projects/{emulator.project}/subscriptions/never-made"
    with GooglePubSub(name, emulator_host=emulator.host) as source:
        with pytest.raises(SubscriptionMissing, match=name):
            source.pull(10, wait=2)
        with pytest.raises(SubscriptionMissing, match=name):
            source.ack(["projects/x/subscriptions/never-made:1"])


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_past_the_ack_deadline_only_the_unfinished_message_returns(channel, admin):
    """Acked stays gone, extended stays held; one arriving as a pull gives up still comes, if late."""
    admin.notify(channel.topic, "support@example.com", 1)
    admin.notify(channel.topic, "support@example.com", 2)
    pulled = []
    while len(pulled) < 2:
        pulled += channel.source.pull(10, wait=5)
    done, held = sorted(pulled, key=lambda item: item.history_id)
    channel.source.ack([done.ack_id])
    channel.source.extend([held.ack_id], 60)
    deadline_passed = time.monotonic() + ACK_DEADLINE + 1

    assert channel.source.pull(10, wait=1) == []      # this pull gives up; the server keeps it open
    admin.notify(channel.topic, "support@example.com", 3)
    # One pull: at once, or once the abandoned pull's deadline hands it back (a second abandoned
    # pull could catch it again).
    late = channel.source.pull(10, wait=ACK_DEADLINE + 5)
    assert [item.history_id for item in late] == [3]
    channel.source.ack([late[0].ack_id])

    # One pull spanning the rest of the deadline, so that a redelivery cannot go to an abandoned one.
    assert channel.source.pull(10, wait=max(1.0, deadline_passed - time.monotonic()) + 1) == []
