"""The setup check: before it listens, the daemon learns whether the subscription and topic exist."""
from __future__ import annotations

import pytest

from connector.pubsub.google import GooglePubSub
from connector.pubsub.port import SubscriptionInfo, SubscriptionMissing, TopicMissing

pytestmark = pytest.mark.timeout(20)


def test_a_working_subscription_reports_its_topic(channel):
    assert channel.source.check() == SubscriptionInfo(channel.subscription, channel.topic, 10)


def test_a_missing_subscription_is_named(emulator):
    name = f"projects/{emulator.project}/subscriptions/sub-nobody-made"
    with GooglePubSub(name, emulator_host=emulator.host) as source:
        with pytest.raises(SubscriptionMissing, match=f"the subscription {name} does not exist"):
            source.check()


def test_a_deleted_topic_is_named_missing(channel, admin):
    admin.delete(channel.topic)

    with pytest.raises(TopicMissing, match=f"topic of the subscription {channel.subscription} was deleted"):
        channel.source.check()


def test_the_emulator_host_may_carry_its_scheme(emulator, channel):
    with GooglePubSub(channel.subscription, emulator_host=f"http://{emulator.host}/") as source:
        assert source.check().topic == channel.topic


def test_without_an_emulator_credentials_are_required():
    with pytest.raises(ValueError, match="needs credentials"):
        GooglePubSub("projects/p/subscriptions/s")
