"""The `q` search language against a seeded mailbox, checked directly on the core (fast, no HTTP)."""
from __future__ import annotations

import time
from email import message_from_bytes
from email.policy import default

import pytest

from sandbox_world import mail
from sandbox import search
from sandbox.core import Sandbox
from sandbox.errors import ApiError
from sandbox.settings_api import filter_matches

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


@pytest.fixture
def words():
    """Mail whose words differ only by prefixes and suffixes, plus one large scan."""
    core = Sandbox([BOX])
    core.ids = {
        "invoice": core.deliver(BOX, mail(subject="Invoice 42 overdue", sender="Ann <ann@shop.fr>",
                                          body="Please pay.")),
        "invoices": core.deliver(BOX, mail(subject="Your invoices", sender="bob@example.com", body="Two of them.")),
        "reinvoice": core.deliver(BOX, mail(subject="Reinvoice 42 request", sender="carol@example.org",
                                            body="Pay now or else.", msgid="<{5A1F-77}@example.org>")),
        "scan": core.deliver(BOX, _with_attachment(mail(subject="Scan", sender="dan@example.net",
                                                        body="scan " * 4000), "report.pdf")),
    }
    return core


def _with_attachment(raw: bytes, filename: str) -> bytes:
    msg = message_from_bytes(raw, policy=default)
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=filename)
    return msg.as_bytes()


@pytest.mark.parametrize("q, expected", [
    # Free words are whole tokens, case-insensitive: no substrings, prefixes or stems.
    ("invoice", {"invoice"}),
    ("INVOICE", {"invoice"}),
    ("invoices", {"invoices"}),
    ("oice", set()),
    ('"invoice 42"', {"invoice"}),
    ('"42 invoice"', set()),
    ("from:ann", {"invoice"}),
    ("from:nn", set()),
    ("from:shop.fr", {"invoice"}),
    ("from:@shop.fr", {"invoice"}),
    ("larger:10KB", {"scan"}),
    ("to:port@masociete.com", set()),
    ('subject:"invoice 42"', {"invoice"}),
    ("filename:pdf", {"scan"}),
    ("filename:port", set()),
    # OR (upper case) and {} are "any of"; lower-case or is an ordinary word.
    ("invoice OR invoices", {"invoice", "invoices"}),
    ("{invoice invoices}", {"invoice", "invoices"}),
    ("from:ann@shop.fr OR from:bob@example.com", {"invoice", "invoices"}),
    ("from:{ann@shop.fr bob@example.com}", {"invoice", "invoices"}),
    ("subject:{invoice reinvoice}", {"invoice", "reinvoice"}),
    ("or", {"reinvoice"}),
    ("invoice or invoices", set()),
    ("OR invoice", set()),
    # OR binds tighter than the implicit AND; parentheses group; - negates a term or a group.
    ("42 invoice OR request", {"invoice", "reinvoice"}),
    ("(invoice OR invoices) pay", {"invoice"}),
    ("subject:(42 request)", {"reinvoice"}),
    ("-{invoice invoices}", {"reinvoice", "scan"}),
    ("-from:{ann@shop.fr bob@example.com}", {"reinvoice", "scan"}),
    ("-(subject:invoice from:ann)", {"invoices", "reinvoice", "scan"}),
    ("pay -(now OR else)", {"invoice"}),
    ("invoice AND overdue", {"invoice"}),
    # Sizes in bytes, with K and M suffixes; size: means larger than.
    ("larger:10K", {"scan"}),
    ("smaller:10k", {"invoice", "invoices", "reinvoice"}),
    ("size:10000", {"scan"}),
    ("larger:1M", set()),
    ("smaller:1M", {"invoice", "invoices", "reinvoice", "scan"}),
    ("larger:lots", set()),
    # me is the mailbox's own address.
    ("to:me", {"invoice", "invoices", "reinvoice", "scan"}),
    ("from:me", set()),
    # What Gmail cannot parse is read as words, never as an error.
    ("(invoice", {"invoice"}),
    ("invoice)", {"invoice"}),
    ('"invoice 42', {"invoice"}),
    ("foo:invoice", set()),
    # A message id is taken whole, braces included: the connector looks mail up this way.
    ("rfc822msgid:{5A1F-77}@example.org", {"reinvoice"}),
])
def test_words_and_boolean_queries(words, q, expected):
    assert _find(words, q) == expected


@pytest.mark.parametrize("q, expected", [
    ("in:spam OR printer", {"spam", "new"}),
    ("-in:spam won", set()),
])
def test_spam_is_searched_when_any_alternative_asks_for_it(core, q, expected):
    assert _find(core, q) == expected


def test_hostile_nesting_is_read_as_words_not_a_crash(words):
    assert _find(words, "(" * 5000 + "-" * 5001 + "invoice" + ")" * 5000) == {"invoices", "reinvoice", "scan"}


def test_filter_query_uses_the_same_language(words):
    """Filters' `query` criterion is a Gmail search: OR and whole words hold there too."""
    box = words.mailbox(BOX)
    rule = {"criteria": {"query": "from:{ann@shop.fr carol@example.org} -reinvoice"}, "action": {}}
    found = {name for name, mid in words.ids.items() if filter_matches(rule, box.messages[mid], box)}
    assert found == {"invoice"}
