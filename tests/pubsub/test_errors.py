"""What a failed Pub/Sub call means to the listener, decided from the status and Google's error body."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from connector.pubsub.errors import translate
from connector.pubsub.port import (PubSubDenied, PubSubRejected, PubSubUnavailable, SubscriptionMissing,
                                   TopicMissing)

SUB, TOPIC = "projects/p/subscriptions/s", "projects/p/topics/t"
REPO = Path(__file__).resolve().parents[2]


def body(code: int, status: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "status": status, "message": message}}).encode()


@pytest.mark.parametrize("status, method, resource, error, words", [
    (404, "subscriptions.pull", SUB, SubscriptionMissing, f"the subscription {SUB} does not exist"),
    (404, "topics.get", TOPIC, TopicMissing, f"the topic {TOPIC} does not exist"),
    (403, "subscriptions.pull", SUB, PubSubDenied, "roles/pubsub.subscriber on the subscription"),
    (403, "topics.get", TOPIC, PubSubDenied, "roles/pubsub.viewer on the topic"),
    (401, "subscriptions.acknowledge", SUB, PubSubDenied, "credentials were refused"),
    (429, "subscriptions.pull", SUB, PubSubUnavailable, "HTTP 429"),
    (503, "subscriptions.pull", SUB, PubSubUnavailable, "HTTP 503"),
    (400, "subscriptions.acknowledge", SUB, PubSubRejected, "HTTP 400"),
])
def test_each_status_means_one_thing(status, method, resource, error, words):
    found = translate(status, body(status, "X", "Google said so"), method, resource)

    assert type(found) is error
    assert words in str(found) and "Google said so" in str(found) and method in str(found)


def test_a_proxys_html_page_still_translates():
    found = translate(502, b"<html>Bad Gateway</html>", "subscriptions.pull", SUB)
    assert isinstance(found, PubSubUnavailable) and str(found).endswith("HTTP 502")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_adapter_imports_googleapiclient_or_google_auth():
    """The port, the decoder and the error rules stay plain Python (STYLE: one module per Google API)."""
    offenders = sorted(path.name for path in (REPO / "connector" / "pubsub").glob("*.py")
                       for name in imported(path) if path.name != "google.py"
                       and name.split(".")[0] in ("googleapiclient", "google", "httplib2", "google_auth_httplib2"))
    assert offenders == []
