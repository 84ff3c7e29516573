"""Header values made usable: decoded text, message ids, references and dates, with defects noted."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from email import policy as email_policy
from email.utils import parsedate_to_datetime
from typing import Iterable

from connector.mail.charsets import unescape_8bit
from connector.mail.encoded_words import decode_words

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_BRACKETED = re.compile(r"<([^<>\s]+)>")
# Headers whose stdlib parse we run only to collect its defects; our own decoding gives the value.
_CHECKED = {"from", "to", "cc", "reply-to", "sender", "date", "message-id", "in-reply-to", "references"}
# That parse is slow (about 10 us a character) and quadratic above 1 KB: a 140 KB From of encoded
# words took 557 MB, 4 KB of quotes 130 ms. Honest checked values are under 300 characters; its
# defects are diagnostics, so only short values get it, and only so many characters per message.
STDLIB_CHECK_MAX_CHARS = 2 * 1024
STDLIB_CHECK_BUDGET_CHARS = 8 * 1024


def unfold(raw: str) -> str:
    return _FOLD.sub("", unescape_8bit(raw)).strip()


def decoded_headers(items: Iterable[tuple[str, str]]) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """Every header as (name, decoded text) in source order, plus readable defects."""
    out: list[tuple[str, str]] = []
    defects: list[str] = []
    budget = STDLIB_CHECK_BUDGET_CHARS
    for name, raw in items:
        unfolded = unfold(raw)
        text, word_defects = decode_words(unfolded)
        out.append((name, text))
        defects.extend(f"{name}: {d}" for d in word_defects)
        if name.lower() in _CHECKED and len(unfolded) <= min(budget, STDLIB_CHECK_MAX_CHARS):
            budget -= len(unfolded)
            defects.extend(_stdlib_defects(name, unfolded))
    return tuple(out), defects


def _stdlib_defects(name: str, value: str) -> list[str]:
    try:
        header = email_policy.default.header_factory(name, value)
    except Exception as exc:  # the stdlib raises on some broken headers; we note it and go on
        return [f"{name}: unparsable ({type(exc).__name__})"]
    return [f"{name}: {type(d).__name__}: {d}".rstrip(": ") for d in header.defects]


MAX_ID_CHARS = 500


def message_ids(value: str | None) -> list[str]:
    """Ids in order, without angle brackets; bare ids (no brackets) accepted if they look like ids."""
    if not value:
        return []
    found = _BRACKETED.findall(value)
    if not found:
        found = [token for token in value.split() if "@" in token and "<" not in token and ">" not in token]
    seen: dict[str, None] = {}
    for mid in found:
        # Real ids are short; a giant one is cut so it stays indexable (PostgreSQL caps index entries).
        seen.setdefault(mid[:MAX_ID_CHARS], None)
    return list(seen)


def synthesised_message_id(raw: bytes) -> str:
    """An id for mail without a usable one; deterministic, so the same broken message arriving
    twice is still recognised as a duplicate."""
    return f"{hashlib.sha256(raw).hexdigest()[:32]}@generated.invalid"


def parse_date(value: str | None) -> tuple[datetime | None, str | None]:
    """A timezone-aware date (UTC when the header gives no zone), or None with a defect."""
    if value is None:
        return None, "Date: missing"
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, f"Date: unparsable {value[:60]!r}"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed, None
