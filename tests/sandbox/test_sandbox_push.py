"""Gmail push from the sandbox into Google's own Pub/Sub emulator: watch rules, what is published, how often."""
from __future__ import annotations

import time

import pytest
from googleapiclient.errors import HttpError

from sandbox.server import SandboxServer
from sandbox_world import ALICE, SUPPORT, mail


@pytest.fixture
def sandbox(tmp_path, emulator):
    with SandboxServer(mailboxes=[SUPPORT, ALICE], state_dir=tmp_path, quota_tier="legacy",
                       pubsub=emulator.host, pubsub_project=emulator.project) as srv:
        yield srv


def _watch(gmail, topic: str, **body) -> dict:
    return gmail.users().watch(userId="me", body={"topicName": topic, **body}).execute()


def _pull(channel, count: int = 1, seconds: float = 5.0) -> list:
    """`count` notifications, acked. Never a pull that times out while a message may still come: the
    emulator hands a message published then to the abandoned request, and redelivers it only after
    the ack deadline. "Nothing was published" is read from the sandbox instead (`_published`)."""
    got, deadline = [], time.monotonic() + seconds
    while len(got) < count and time.monotonic() < deadline:
        batch = channel.source.pull(100, wait=deadline - time.monotonic())
        channel.source.ack([item.ack_id for item in batch])
        got += batch
    return got


def _published(sandbox, settle: float = 1.3) -> int:
    time.sleep(settle)                 # longer than the one-a-second gap: a folded change would be out
    return len(sandbox.core.push.published)


def _refused(call) -> tuple[int, str]:
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value.resp.status, caught.value.reason


def test_watch_answers_the_history_id_and_a_seven_day_expiration(sandbox, gmail, channel):
    answer = _watch(gmail, channel.topic, labelIds=["INBOX"], labelFilterBehavior="include")
    assert int(answer["historyId"]) == sandbox.core.mailbox(SUPPORT).history_id
    days = (int(answer["expiration"]) / 1000 - time.time()) / 86_400
    assert 6.99 < days <= 7


def test_watch_refuses_a_missing_topic_another_project_and_a_topic_gmail_may_not_publish_to(sandbox, gmail,
                                                                                          emulator):
    users = gmail.users()
    missing = f"projects/{emulator.project}/topics/never-made"
    assert _refused(users.watch(userId="me", body={"topicName": missing})) == (
        404, "Resource not found (resource=never-made).")
    status, reason = _refused(users.watch(userId="me", body={"topicName": "projects/elsewhere/topics/t"}))
    assert status == 400 and reason == f"Invalid topicName does not match projects/{emulator.project}/topics/*"
    assert _refused(users.watch(userId="me", body={}))[0] == 400


def test_a_topic_gmail_api_push_cannot_publish_to_is_a_403(sandbox, gmail, channel):
    sandbox.core.push.publisher_granted = False
    status, reason = _refused(gmail.users().watch(userId="me", body={"topicName": channel.topic}))
    assert status == 403 and reason.startswith(f"Error sending test message to Cloud PubSub {channel.topic}")


def test_arriving_mail_publishes_the_mailbox_and_its_new_history_id(sandbox, gmail, channel):
    _watch(gmail, channel.topic, labelIds=["INBOX"])
    sandbox.core.deliver(SUPPORT, mail(msgid="<push-1@example.com>"))
    [notification] = _pull(channel)
    assert notification.email_address == SUPPORT
    assert notification.history_id == sandbox.core.mailbox(SUPPORT).history_id


def test_thirty_mails_in_one_second_fold_into_one_or_two_notifications(sandbox, gmail, channel):
    _watch(gmail, channel.topic, labelIds=["INBOX"])
    for n in range(30):
        sandbox.core.deliver(SUPPORT, mail(msgid=f"<burst-{n}@example.com>"))
    assert 1 <= _published(sandbox, 2.5) <= 2     # at most one a second; later changes folded into the next
    got = _pull(channel, len(sandbox.core.push.published))
    assert got[-1].history_id == sandbox.core.mailbox(SUPPORT).history_id


def test_changes_outside_the_watched_labels_publish_nothing(sandbox, gmail, channel):
    _watch(gmail, channel.topic, labelIds=["INBOX"])
    gmail.users().messages().insert(userId="me", body={"raw": _raw(), "labelIds": ["SENT"]}).execute()
    assert _published(sandbox) == 0


def _raw() -> str:
    import base64
    return base64.urlsafe_b64encode(mail(msgid="<sent@example.com>")).decode()


def test_stop_and_an_expired_watch_publish_nothing_and_a_second_watch_replaces_the_first(sandbox, gmail, admin,
                                                                                       channel):
    other_topic = admin.topic()
    _watch(gmail, other_topic)
    _watch(gmail, channel.topic)                       # replaces the watch on other_topic
    sandbox.core.deliver(SUPPORT, mail(msgid="<replaced@example.com>"))
    [notification] = _pull(channel)
    assert sandbox.core.push.published[-1]["historyId"] == notification.history_id
    sandbox.core.push.expire(SUPPORT)
    sandbox.core.deliver(SUPPORT, mail(msgid="<expired@example.com>"))
    assert _published(sandbox) == 1
    _watch(gmail, channel.topic)
    gmail.users().stop(userId="me").execute()
    sandbox.core.deliver(SUPPORT, mail(msgid="<stopped@example.com>"))
    assert _published(sandbox) == 1


def test_injected_faults_drop_or_delay_notifications(sandbox, gmail, channel):
    _watch(gmail, channel.topic)
    sandbox.core.faults.add({"method": "push.notify", "status": 500, "times": 1})
    sandbox.core.deliver(SUPPORT, mail(msgid="<dropped@example.com>"))
    assert _published(sandbox) == 0 and sandbox.core.push.dropped == 1
    sandbox.core.faults.add({"method": "push.notify", "latency_ms": 1500})
    sandbox.core.deliver(SUPPORT, mail(msgid="<late@example.com>"))
    assert _published(sandbox, 0.8) == 0                  # held back for 1.5 s
    [late] = _pull(channel)
    assert late.history_id == sandbox.core.mailbox(SUPPORT).history_id
