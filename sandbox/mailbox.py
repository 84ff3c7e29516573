"""One Gmail mailbox: messages, Gmail-style threads, labels and the history log with its ids."""
from __future__ import annotations

import itertools
import random
import re
import time
from dataclasses import dataclass, field
from email.message import Message

from sandbox import mime
from sandbox.errors import not_found
from sandbox.labels import LabelSet, gmail_order

CONSUMER_DOMAINS = ("gmail.com", "googlemail.com")
_PREFIX = re.compile(r"^\s*((re|fwd?|aw|tr|wg|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ids = itertools.count(random.randrange(1 << 12))


def new_id() -> str:
    """16 hex digits, rising with time like Gmail's own ids."""
    return "%016x" % ((int(time.time() * 1000) << 20) | (next(_ids) & 0xFFFFF))


def normalise_subject(subject: str) -> str:
    return " ".join(_PREFIX.sub("", subject or "").split()).lower()


def message_ids(value: str) -> list[str]:
    return [m.lower() for m in re.findall(r"<([^<>\s]+)>", value or "")]


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    raw: bytes
    internal_date: int
    labels: set[str]
    history_id: int
    parsed: Message = field(repr=False)

    def ref(self) -> dict:
        return {"id": self.id, "threadId": self.thread_id}

    def brief(self) -> dict:
        out = self.ref()
        if self.labels:
            out["labelIds"] = gmail_order(self.labels)
        return out


@dataclass
class HistoryRecord:
    id: int
    kind: str                 # messagesAdded | messagesDeleted | labelsAdded | labelsRemoved
    message: dict
    label_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        entry = {"message": self.message}
        if self.kind in ("labelsAdded", "labelsRemoved"):
            entry["labelIds"] = self.label_ids
        return {"id": str(self.id), "messages": [{"id": self.message["id"], "threadId": self.message["threadId"]}],
                self.kind: [entry]}


class Mailbox:
    def __init__(self, address: str) -> None:
        self.address = address.lower()
        self.domain = self.address.rpartition("@")[2]
        self.consumer = self.domain in CONSUMER_DOMAINS
        self.messages: dict[str, StoredMessage] = {}
        self.threads: dict[str, list[str]] = {}
        self.labels = LabelSet()
        self.history: list[HistoryRecord] = []
        self.history_id = random.randrange(10_000, 100_000)
        self.history_floor = self.history_id
        self._by_rfc_id: dict[str, list[str]] = {}
        self._was_in_inbox: set[str] = set()
        self.drafts: dict[str, str] = {}          # draft id -> id of the message it holds now

    def _bump(self) -> int:
        self.history_id += random.randrange(1, 4)
        return self.history_id

    def get(self, message_id: str) -> StoredMessage:
        msg = self.messages.get(message_id)
        if msg is None:
            raise not_found()
        return msg

    def add(self, raw: bytes, labels, internal_date: int | None = None, thread_hint: str | None = None) -> StoredMessage:
        parsed = mime.parse(raw)
        hid = self._bump()
        msg = StoredMessage(new_id(), "", raw, internal_date or int(time.time() * 1000), set(labels), hid, parsed)
        msg.thread_id = self._thread_for(parsed, thread_hint) or msg.id
        self.messages[msg.id] = msg
        self.threads.setdefault(msg.thread_id, []).append(msg.id)
        for rfc_id in message_ids(mime.first_header(parsed, "Message-ID")):
            self._by_rfc_id.setdefault(rfc_id, []).append(msg.id)
        self.history.append(HistoryRecord(hid, "messagesAdded", msg.brief()))
        return msg

    def _thread_for(self, parsed: Message, hint: str | None) -> str | None:
        """Gmail joins a thread only when a reference is known here AND the subject still matches."""
        subject = normalise_subject(mime.decoded_subject(parsed))
        if hint and hint in self.threads and self._thread_subject(hint) == subject:
            return hint
        refs = message_ids(mime.first_header(parsed, "References")) + \
            message_ids(mime.first_header(parsed, "In-Reply-To"))
        for rfc_id in reversed(refs):
            for gmail_id in self._by_rfc_id.get(rfc_id, []):
                known = self.messages.get(gmail_id)
                if known and normalise_subject(mime.decoded_subject(known.parsed)) == subject:
                    return known.thread_id
        return None

    def _thread_subject(self, thread_id: str) -> str:
        first = self.messages[self.threads[thread_id][0]]
        return normalise_subject(mime.decoded_subject(first.parsed))

    def change_labels(self, msg: StoredMessage, add=(), remove=()) -> None:
        added = sorted(set(add) - msg.labels)
        removed = sorted((set(remove) & msg.labels) - set(add))
        if added:
            msg.labels |= set(added)
            msg.history_id = self._bump()
            self.history.append(HistoryRecord(msg.history_id, "labelsAdded", msg.brief(), added))
        if removed:
            msg.labels -= set(removed)
            msg.history_id = self._bump()
            self.history.append(HistoryRecord(msg.history_id, "labelsRemoved", msg.brief(), removed))

    def trash(self, msg: StoredMessage) -> None:
        if "INBOX" in msg.labels:
            self._was_in_inbox.add(msg.id)
        self.change_labels(msg, add=["TRASH"], remove=["INBOX", "SPAM"])

    def untrash(self, msg: StoredMessage) -> None:
        back = ["INBOX"] if msg.id in self._was_in_inbox else []
        self._was_in_inbox.discard(msg.id)
        self.change_labels(msg, add=back, remove=["TRASH"])

    def delete(self, message_id: str) -> None:
        msg = self.get(message_id)
        del self.messages[message_id]
        siblings = self.threads.get(msg.thread_id, [])
        siblings.remove(message_id)
        if not siblings:
            self.threads.pop(msg.thread_id, None)
        for ids in self._by_rfc_id.values():
            if message_id in ids:
                ids.remove(message_id)
        self.history.append(HistoryRecord(self._bump(), "messagesDeleted", msg.brief()))

    def delete_label(self, label_id: str) -> None:
        self.labels.delete(label_id)
        for msg in self.messages.values():
            msg.labels.discard(label_id)

    def expire_history(self) -> None:
        self.history_floor = self.history_id

    def history_since(self, start: int) -> list[HistoryRecord]:
        if start < self.history_floor:
            raise not_found()
        return [record for record in self.history if record.id > start]

    def thread_messages(self, thread_id: str) -> list[StoredMessage]:
        """The thread's messages, oldest first, as Gmail applies thread-wide changes to them."""
        if thread_id not in self.threads:
            raise not_found()
        return sorted((self.messages[i] for i in self.threads[thread_id]), key=lambda m: (m.internal_date, m.id))

    def thread_history_id(self, thread_id: str) -> int:
        return max(self.messages[mid].history_id for mid in self.threads[thread_id])
