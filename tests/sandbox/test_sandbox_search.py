"""The `q` search language against a seeded mailbox, checked directly on the core (fast, no HTTP)."""
from __future__ import annotations

import time

import pytest

from sandbox_world import mail
from sandbox import search
from sandbox.core import Sandbox
from sandbox.errors import ApiError

BOX = "support@masociete.com"


@pytest.fixture
def core():
    core = Sandbox([BOX])
    now = int(time.time() * 1000)
    core.ids = {
        "old": core.deliver(BOX, mail(subject="Invoice overdue", sender="Ann <ann@shop.fr>", msgid="<o@shop.fr>"),
                            internal_date_ms=1_600_000_000_000),
        "new": core.deliver(BOX, mail(subject="Printer jam", sender="bob@example.com", body="paper stuck"),
                            internal_date_ms=now - 3600_000),
        "spam": core.deliver(BOX, mail(subject="You won", sender="x@spam.biz"), label_ids=["SPAM"]),
    }
    box = core.mailbox(BOX)
    box.change_labels(box.messages[core.ids["old"]], remove=["UNREAD"])
    return core


def _find(core, q):
    box = core.mailbox(BOX)
    query = search.parse(q)
    return {name for name, mid in core.ids.items() if query.matches(box.messages[mid], box)
            and (query.reaches_spam_trash or "SPAM" not in box.messages[mid].labels)}


@pytest.mark.parametrize("q, expected", [
    ("", {"old", "new"}),
    ("is:unread", {"new"}),
    ("is:read", {"old"}),
    ("-is:unread", {"old"}),
    ("from:ann@shop.fr", {"old"}),
    ("-from:ann", {"new"}),
    ("to:support@masociete.com", {"old", "new"}),
    ("deliveredto:support@masociete.com", {"old", "new"}),
    ("subject:printer", {"new"}),
    ("paper", {"new"}),
    ('"paper stuck"', {"new"}),
    ("in:inbox invoice", {"old"}),
    ("in:spam", {"spam"}),
    ("in:anywhere won", {"spam"}),
    ("label:inbox -label:unread", {"old"}),
    ("after:2021/01/01", {"new"}),
    ("before:2021/01/01", {"old"}),
    ("after:1600000001", {"new"}),
    ("newer_than:2d", {"new"}),
    ("older_than:1y", {"old"}),
    ("rfc822msgid:<o@shop.fr>", {"old"}),
    ("rfc822msgid:o@shop.fr", {"old"}),
    ("category:primary", {"old", "new"}),
])
def test_query(core, q, expected):
    assert _find(core, q) == expected


def test_bad_date_is_invalid_argument(core):
    with pytest.raises(ApiError) as caught:
        _find(core, "after:yesterday")
    assert caught.value.code == 400
