"""Turn one received Pub/Sub message (the REST JSON shape) into a Gmail Notification, or Malformed.

Pure, and it never raises: anyone able to publish to the topic can put anything on it, and one
bad message must not stop the listener. Whatever is not Gmail's `{"emailAddress", "historyId"}`
becomes a Malformed item with a reason, still acknowledged so that it is not redelivered forever.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Mapping

from connector.pubsub.port import Malformed, Notification, Pulled

# Gmail's payload is under 100 bytes; anything far larger is not Gmail's and is not worth parsing.
MAX_DATA_BYTES = 4096
PREVIEW_BYTES = 200
# Pub/Sub's JSON writes bytes as standard base64; the proto3 JSON rules also allow the URL-safe form.
_URL_SAFE = str.maketrans("-_", "+/")


def decode(received: Mapping[str, Any]) -> Pulled:
    """One entry of a pull response's receivedMessages."""
    ack_id = str(received.get("ackId") or "")
    message = received.get("message")
    message = message if isinstance(message, Mapping) else {}
    message_id = str(message.get("messageId") or "")
    published = publish_time(message.get("publishTime"))

    def malformed(reason: str, preview: bytes = b"") -> Malformed:
        return Malformed(ack_id, message_id, published, reason, preview[:PREVIEW_BYTES])

    data = message.get("data")
    if not isinstance(data, str) or not data:
        return malformed("the message has no data")
    if len(data) > MAX_DATA_BYTES * 4 // 3 + 4:
        return malformed(f"the data is larger than {MAX_DATA_BYTES} bytes", data[:PREVIEW_BYTES].encode())
    try:
        raw = base64.b64decode(data.translate(_URL_SAFE), validate=True)
    except (binascii.Error, ValueError):
        return malformed("the data is not base64", data[:PREVIEW_BYTES].encode("utf-8", "replace"))
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return malformed("the data is not JSON", raw)
    if not isinstance(body, dict):
        return malformed("the data is JSON but not an object", raw)
    email = body.get("emailAddress")
    if not isinstance(email, str) or "@" not in email:
        return malformed("emailAddress is missing or not an address", raw)
    history_id = _history_id(body.get("historyId"))
    if history_id is None:
        return malformed("historyId is missing or not a positive whole number", raw)
    return Notification(ack_id, email.strip(), history_id, published, message_id)


def _history_id(value: Any) -> int | None:
    # Gmail's documentation shows a number; Google's JSON writes 64-bit numbers as strings. Take both.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def publish_time(value: Any) -> datetime | None:
    """RFC 3339 as Pub/Sub writes it ("2026-01-02T03:04:05.123456789Z"); None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
