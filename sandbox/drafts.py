"""A mailbox's drafts: each names one DRAFT-labelled message, and keeps its id when that message is replaced."""
from __future__ import annotations

import random
from typing import Iterator

from sandbox.errors import not_found
from sandbox.mailbox import Mailbox, StoredMessage


def _new_id() -> str:
    # Gmail's draft ids are "r" and a signed 64-bit decimal (r-5727463...): opaque, but clients log them.
    return "r" + str(random.randrange(-(1 << 63), 1 << 63))


def create(box: Mailbox, raw: bytes, thread_hint: str | None) -> tuple[str, StoredMessage]:
    msg = box.add(raw, ["DRAFT"], thread_hint=thread_hint)
    draft_id = _new_id()
    box.drafts[draft_id] = msg.id
    return draft_id, msg


def message_of(box: Mailbox, draft_id: str) -> StoredMessage:
    """The draft's current message; a draft whose message was deleted (messages.delete) is gone too."""
    msg = box.messages.get(box.drafts.get(draft_id, ""))
    if msg is None:
        box.drafts.pop(draft_id, None)
        raise not_found()
    return msg


def replace(box: Mailbox, draft_id: str, raw: bytes, thread_hint: str | None) -> StoredMessage:
    """drafts.update: Gmail stores a new message under the same draft id and drops the old one.

    The new message is added before the old one goes, so a draft alone in its thread can stay there.
    """
    old = message_of(box, draft_id)
    msg = box.add(raw, ["DRAFT"], thread_hint=thread_hint or old.thread_id)
    box.drafts[draft_id] = msg.id
    box.delete(old.id)
    return msg


def discard(box: Mailbox, draft_id: str) -> None:
    """drafts.delete: immediately and permanently, with its message (Gmail's users.drafts reference)."""
    msg = message_of(box, draft_id)
    del box.drafts[draft_id]
    box.delete(msg.id)


def live(box: Mailbox) -> Iterator[tuple[str, StoredMessage]]:
    for draft_id in list(box.drafts):
        msg = box.messages.get(box.drafts[draft_id])
        if msg is not None:
            yield draft_id, msg
