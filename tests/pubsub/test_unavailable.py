"""When the emulator (or Pub/Sub) goes away, every call says "temporary", and the listener backs off."""
from __future__ import annotations

import pytest

from connector.pubsub.google import GooglePubSub
from connector.pubsub.port import PubSubUnavailable
from tests.pubsub_emulator import EmulatorAdmin, free_port, installed_reason, start_emulator

pytestmark = pytest.mark.timeout(60)


def test_a_stopped_emulator_is_unavailable_not_an_error_of_ours(tmp_path):
    if installed_reason():
        pytest.skip(f"Pub/Sub emulator not installed: {installed_reason()}")
    own = start_emulator(tmp_path)          # stopping the shared one would break the other tests
    admin = EmulatorAdmin(own)
    try:
        subscription = admin.subscription(admin.topic())
        with GooglePubSub(subscription, emulator_host=own.host) as source:
            source.check()                  # a kept-alive connection, which the stop breaks
            own.stop()

            for call in (source.check, lambda: source.pull(10, wait=2), lambda: source.ack(["a:1"]),
                         lambda: source.extend(["a:1"], 0)):
                with pytest.raises(PubSubUnavailable, match="network error"):
                    call()
    finally:
        own.stop()
        admin.session.close()


def test_nothing_listening_is_unavailable():
    with GooglePubSub("projects/p/subscriptions/s", emulator_host=f"127.0.0.1:{free_port()}") as source:
        with pytest.raises(PubSubUnavailable, match="subscriptions.pull on projects/p/subscriptions/s"):
            source.pull(10, wait=2)
