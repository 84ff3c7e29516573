"""Turn a failed Pub/Sub call (status and error body) into the port's own errors.

Pure, like connector/gmail/errors.py: it reads the parts of an HTTP failure, never
`googleapiclient` itself, so the adapter stays the only module importing the client.
"""
from __future__ import annotations

import json

from connector.pubsub.port import (PubSubDenied, PubSubError, PubSubRejected, PubSubUnavailable,
                                   SubscriptionMissing, TopicMissing)

# Roles a person can grant, named in the message: "permission denied" alone sends them searching.
_ROLE_FOR = {"topics.get": "roles/pubsub.viewer on the topic"}
_SUBSCRIBER_ROLE = "roles/pubsub.subscriber on the subscription"


def describe(status: int, content: bytes | str | None) -> tuple[str, str]:
    """Google's status word and message from its JSON error body (tolerating HTML or empty bodies)."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else (content or "")
    try:
        error = json.loads(text).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    return str(error.get("status", "")), str(error.get("message", ""))[:300]


def translate(status: int, content: bytes | str | None, method: str, resource: str) -> PubSubError:
    """The port error for a failed call of `method` ("subscriptions.pull", ...) on `resource`."""
    word, message = describe(status, content)
    said = f"Pub/Sub {method} on {resource} failed: HTTP {status}" + (f" {word}" if word else "") + (
        f" ({message})" if message else "")
    if status == 404:
        if method.startswith("topics."):
            return TopicMissing(f"{said}: the topic {resource} does not exist")
        return SubscriptionMissing(f"{said}: the subscription {resource} does not exist")
    if status == 401:
        return PubSubDenied(f"{said}: the credentials were refused")
    if status == 403:
        return PubSubDenied(f"{said}: the credentials need {_ROLE_FOR.get(method, _SUBSCRIBER_ROLE)}")
    if status == 429 or status >= 500:
        return PubSubUnavailable(said)
    return PubSubRejected(said)


def transport_failure(exc: Exception, method: str, resource: str) -> PubSubUnavailable:
    return PubSubUnavailable(f"Pub/Sub {method} on {resource} failed: network error {type(exc).__name__}")
