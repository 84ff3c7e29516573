"""Gmail push in the sandbox: users.watch/stop, and the notifications Gmail publishes to Cloud Pub/Sub.

Notifications go to a real Pub/Sub emulator (`gmail-connector sandbox --pubsub HOST:PORT`). As in
Gmail ("Push notifications", developers.google.com/workspace/gmail/api/guides/push): a watch lasts
7 days, a second one replaces the first, the topic must exist in the project and accept Gmail's
publisher, each change that matches the watch's label filter publishes {"emailAddress",
"historyId"}, and at most one notification per second per mailbox goes out: changes within that
second are folded into the next one. Faults on method "push.notify" drop (status) or delay
(latency_ms) notifications, as Gmail's own can be delayed or dropped.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from sandbox.errors import ApiError, invalid

log = logging.getLogger(__name__)
WATCH_MS = 7 * 86_400 * 1000
MIN_GAP_SECONDS = 1.0          # Gmail: "a maximum notification rate of 1 event/sec per user"
TICK_SECONDS = 0.05
_TOPIC = re.compile(r"projects/([^/]+)/topics/([^/]+)")


@dataclass
class Watch:
    topic: str
    label_ids: frozenset[str]
    include: bool
    expiration_ms: int
    published_id: int                 # the mailbox's history id the last notification covered
    last_publish: float = 0.0
    due_at: float = 0.0               # a delayed notification goes out at this time


class PushHub:
    """Watches per mailbox and the publisher thread; inert (watch still answers) without an emulator."""

    def __init__(self, core, emulator: str | None = None, project: str = "gmail-connector-test",
                 clock=time.time) -> None:
        self.core, self.emulator, self.project, self._clock = core, emulator, project, clock
        self.publisher_granted = True          # False: gmail-api-push@ lacks roles/pubsub.publisher
        self.published: list[dict] = []        # what went out, for /_sandbox/stats and tests
        self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def watches(self) -> dict[str, Watch]:
        return self.core.watches          # kept on the core, so --state saves (and restores) them

    # ---- users.watch / users.stop ----------------------------------------------------------
    def watch(self, box, body: dict) -> dict:
        topic = str(body.get("topicName") or "")
        if not topic:
            raise invalid("topicName required")
        self._check_topic(topic)
        labels = [str(x) for x in body.get("labelIds") or []]
        box.labels.require(labels)
        behavior = str(body.get("labelFilterBehavior") or body.get("labelFilterAction") or "include").lower()
        expiration = int(self._clock() * 1000) + WATCH_MS
        self.watches[box.address] = Watch(topic, frozenset(labels), behavior != "exclude", expiration,
                                          box.history_id)
        return {"historyId": str(box.history_id), "expiration": str(expiration)}

    def stop(self, box) -> None:
        self.watches.pop(box.address, None)

    def _check_topic(self, topic: str) -> None:
        found = _TOPIC.fullmatch(topic)
        if not found:
            raise invalid("Invalid topicName does not match projects/SOME_PROJECT/topics/SOME_TOPIC")
        if self.emulator is None:
            return
        if found.group(1) != self.project:
            # The topic must live in the project of the client's Cloud project.
            raise invalid(f"Invalid topicName does not match projects/{self.project}/topics/*")
        if not self._topic_exists(topic):
            raise ApiError(404, f"Resource not found (resource={found.group(2)}).", "notFound")
        if not self.publisher_granted:
            raise ApiError(403, f"Error sending test message to Cloud PubSub {topic} : User not authorized to "
                           "perform this action.", "forbidden")

    def _topic_exists(self, topic: str) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.emulator}/v1/{topic}", timeout=5):
                return True
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                return False
            raise ApiError(500, "Backend Error", "backendError") from None
        except OSError:
            raise ApiError(500, "Backend Error", "backendError") from None

    def expire(self, address: str) -> bool:
        """POST /_sandbox/push {"mailbox", "expire": true}: the watch lapses now, as after 7 days."""
        watch = self.watches.get(address)
        if watch is not None:
            watch.expiration_ms = int(self._clock() * 1000) - 1
        return watch is not None

    # ---- the publisher thread --------------------------------------------------------------
    def start(self) -> None:
        if self.emulator and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gmail-sandbox-push", daemon=True)
            self._thread.start()

    def stop_publishing(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            for address, payload, topic in self._due():
                self._publish(address, topic, payload)

    def _due(self) -> list[tuple[str, dict, str]]:
        """Notifications to send now, decided under the core's lock; sent outside it."""
        now, out = self._clock(), []
        with self.core.lock:
            for address, watch in self.watches.items():
                box = self.core.boxes.get(address)
                if box is None or now * 1000 > watch.expiration_ms or box.history_id <= watch.published_id:
                    continue
                if not self._matches(box, watch):
                    watch.published_id = box.history_id          # nothing the watch asked about
                    continue
                if now - watch.last_publish < MIN_GAP_SECONDS or now < watch.due_at:
                    continue                                      # folded into the next notification
                if self._faulted(address, watch, now):
                    continue
                watch.published_id, watch.last_publish, watch.due_at = box.history_id, now, 0.0
                out.append((address, {"emailAddress": address, "historyId": box.history_id}, watch.topic))
        return out

    def _faulted(self, address: str, watch: Watch, now: float) -> bool:
        if watch.due_at:
            return False                  # this one was delayed already: it goes out now
        delay, error = self.core.faults.check("push.notify", address)
        if error is not None:
            watch.published_id, watch.last_publish = self.core.boxes[address].history_id, now
            self.dropped += 1
            return True
        if delay:
            watch.due_at = now + delay
            return True
        return False

    @staticmethod
    def _matches(box, watch: Watch) -> bool:
        if not watch.label_ids:
            return True
        for record in box.history_since(watch.published_id):
            touched = set(record.message.get("labelIds", [])) | set(record.label_ids)
            if bool(touched & watch.label_ids) == watch.include:
                return True
        return False

    def _publish(self, address: str, topic: str, payload: dict) -> None:
        data = base64.b64encode(json.dumps(payload).encode()).decode()
        request = urllib.request.Request(f"http://{self.emulator}/v1/{topic}:publish",
                                         json.dumps({"messages": [{"data": data}]}).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                answer.read()
        except OSError as exc:        # the emulator went away: Gmail would drop it too
            log.warning("sandbox push to %s for %s failed: %s", topic, address, exc)
            self.dropped += 1
            return
        with self.core.lock:
            self.published.append({"mailbox": address, "historyId": payload["historyId"], "at": self._clock()})
