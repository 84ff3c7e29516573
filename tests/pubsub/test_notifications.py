"""Decoding what arrives on the subscription: Gmail's shape becomes a Notification, anything else Malformed."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest

from connector.pubsub.notifications import MAX_DATA_BYTES, decode, publish_time
from connector.pubsub.port import Malformed, Notification


def received(data: bytes | str | None, **message: object) -> dict:
    if isinstance(data, bytes):
        data = base64.b64encode(data).decode("ascii")
    body = {"messageId": "17", "publishTime": "2026-01-02T03:04:05.123456789Z", **message}
    if data is not None:
        body["data"] = data
    return {"ackId": "projects/p/subscriptions/s:1", "message": body}


def gmail(email: object = "support@example.com", history_id: object = "9876543210") -> bytes:
    return json.dumps({"emailAddress": email, "historyId": history_id}).encode()


def test_gmails_notification_is_decoded():
    assert decode(received(gmail())) == Notification(
        "projects/p/subscriptions/s:1", "support@example.com", 9876543210,
        datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc), "17")


def test_a_numeric_history_id_is_taken_too():
    assert decode(received(gmail(history_id=12))).history_id == 12


def test_url_safe_base64_is_taken_too():
    payload = b'{"emailAddress": "a@example.com", "historyId": 1, "x": "\xff\xfe"}'.decode("latin-1").encode()
    safe = base64.urlsafe_b64encode(payload).decode("ascii")
    assert "-" in safe or "_" in safe
    assert isinstance(decode(received(safe)), Notification)


@pytest.mark.parametrize("data, reason", [
    (None, "the message has no data"),
    ("@@@", "the data is not base64"),
    (b"\xff\xfe", "the data is not JSON"),
    (b"[1, 2]", "the data is JSON but not an object"),
    (gmail(email="nobody"), "emailAddress is missing or not an address"),
    (gmail(email=5), "emailAddress is missing or not an address"),
    (gmail(history_id=True), "historyId is missing or not a positive whole number"),
    (gmail(history_id=0), "historyId is missing or not a positive whole number"),
    (gmail(history_id="-3"), "historyId is missing or not a positive whole number"),
    (gmail(history_id="١٢"), "historyId is missing or not a positive whole number"),   # Arabic-Indic digits
    (b"x" * (MAX_DATA_BYTES + 10), f"the data is larger than {MAX_DATA_BYTES} bytes"),
])
def test_anything_else_is_malformed_with_a_reason(data, reason):
    item = decode(received(data))

    assert isinstance(item, Malformed)
    assert (item.reason, item.ack_id, item.message_id) == (reason, "projects/p/subscriptions/s:1", "17")
    assert len(item.preview) <= 200


def test_a_message_without_its_envelope_is_malformed_not_an_exception():
    assert decode({"ackId": "a:1", "message": "nonsense"}) == Malformed("a:1", "", None, "the message has no data")


@pytest.mark.parametrize("text, expected", [
    ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ("2026-01-02T03:04:05", None),            # no zone: not Pub/Sub's, not guessed
    ("yesterday", None),
    (None, None),
])
def test_publish_times(text, expected):
    assert publish_time(text) == expected
