"""What each Gmail search operator tests on one message: the leaves of a parsed `q` query."""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Callable

from sandbox import mime
from sandbox.errors import invalid
from sandbox.mailbox import Mailbox, StoredMessage, message_ids

Test = Callable[[StoredMessage, Mailbox], bool]

_IN = {"inbox": "INBOX", "sent": "SENT", "spam": "SPAM", "trash": "TRASH", "draft": "DRAFT", "drafts": "DRAFT",
       "starred": "STARRED", "important": "IMPORTANT", "unread": "UNREAD", "chats": "CHAT"}
_IS = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}
_SPAN = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}
# The help page writes sizes as bytes or with a suffix ("larger:10M"); it does not say whether a
# K is 1,000 or 1,024 bytes, so binary units are assumed, as for Gmail's storage quota.
_UNIT = {"": 1, "k": 1024, "m": 1024 * 1024}
_HEADERS = {"from": ("From", "Sender"), "to": ("To", "Cc", "Bcc"), "cc": ("Cc",), "bcc": ("Bcc",),
            "deliveredto": ("Delivered-To",)}


def words(text: str) -> tuple[str, ...]:
    """Gmail's index holds whole words: letters and digits, lower-cased; punctuation only separates."""
    return tuple(re.findall(r"[^\W_]+", text.lower()))


def has_phrase(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """The needle's words, consecutive and in order; a needle of punctuation alone asks for nothing."""
    span = len(needle)
    return any(haystack[i:i + span] == needle for i in range(len(haystack) - span + 1))


def _fields(msg: StoredMessage) -> dict[str, tuple[str, ...]]:
    found = getattr(msg, "_search_fields", None)
    if found is None:
        parsed = msg.parsed
        found = {"subject": words(mime.decoded_subject(parsed)), "body": words(mime.text_of(parsed))}
        for name in ("From", "To", "Cc"):
            found[name] = words(mime.first_header(parsed, name))
        msg._search_fields = found  # type: ignore[attr-defined]  # parsing once per message keeps list fast
    return found


def _word(value: str) -> Test:
    needle = words(value)
    return lambda msg, box: any(has_phrase(text, needle) for text in _fields(msg).values())


def _header(names: tuple[str, ...], value: str) -> Test:
    """A full address matches only that address; anything else matches words of the names and addresses."""
    def match(msg: StoredMessage, box: Mailbox) -> bool:
        wanted = box.address if value.lower() == "me" else value.lower()
        if "@" in wanted:
            found = mime.addresses(msg.parsed, *names)
            return any(a == wanted or (wanted.startswith("@") and a.endswith(wanted)) for a in found)
        text = " ".join(str(v) for n in names for v in (msg.parsed.get_all(n) or []))
        return has_phrase(words(text), words(wanted))
    return match


def _in(value: str) -> Test:
    wanted = _IN.get(value.lower())
    if value.lower() == "anywhere":
        return lambda msg, box: True
    return (lambda msg, box: wanted in msg.labels) if wanted else _label(value)


def _label(value: str) -> Test:
    return lambda msg, box: bool(box.labels.ids_for_search(value) & msg.labels)


def _is(value: str) -> Test:
    if value.lower() == "read":
        return lambda msg, box: "UNREAD" not in msg.labels
    return lambda msg, box: _IS.get(value.lower(), "?") in msg.labels


def _has(value: str) -> Test:
    if value.lower() == "attachment":
        return lambda msg, box: mime.has_attachment(msg.parsed)
    return _is(value)


def _filename(value: str) -> Test:
    needle = words(value)
    return lambda msg, box: any(has_phrase(words(p.get_filename() or ""), needle) for p in msg.parsed.walk())


def _in_header(name: str, value: str) -> Test:
    needle = words(value)
    if name == "Subject":
        return lambda msg, box: has_phrase(_fields(msg)["subject"], needle)
    return lambda msg, box: has_phrase(words(mime.first_header(msg.parsed, name)), needle)


def _when(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    try:
        parts = [int(p) for p in re.split(r"[/-]", value)]
        return int(datetime(*parts[:3], tzinfo=timezone.utc).timestamp() * 1000)
    except (TypeError, ValueError):
        raise invalid(f"Invalid date in query: {value}") from None


def _age(value: str) -> int:
    found = re.fullmatch(r"(\d+)([dmy])", value.lower())
    if not found:
        raise invalid(f"Invalid time span in query: {value}")
    return int(time.time() * 1000) - int(found.group(1)) * _SPAN[found.group(2)] * 1000


def _size(value: str) -> int | None:
    found = re.fullmatch(r"(\d+)([km]?)b?", value.lower())
    return int(found.group(1)) * _UNIT[found.group(2)] if found else None


def _sized(value: str, larger: bool) -> Test | None:
    """Measured on the stored raw message, which is what the sandbox reports as sizeEstimate."""
    limit = _size(value)
    if limit is None:
        return None
    return (lambda msg, box: len(msg.raw) > limit) if larger else (lambda msg, box: len(msg.raw) < limit)


def _rfc822msgid(value: str) -> Test:
    wanted = value.strip("<>").lower()
    return lambda msg, box: wanted in message_ids(mime.first_header(msg.parsed, "Message-ID"))


def _category(value: str) -> Test:
    wanted = f"CATEGORY_{value.upper()}".replace("PRIMARY", "PERSONAL")
    return lambda msg, box: wanted in msg.labels


def _dated(value: str, newer: bool, relative: bool) -> Test:
    limit = _age(value) if relative else _when(value)
    return (lambda msg, box: msg.internal_date >= limit) if newer else (lambda msg, box: msg.internal_date < limit)


_BUILDERS: dict[str, Callable[[str], Test | None]] = {
    "in": _in, "label": _label, "is": _is, "has": _has, "filename": _filename, "category": _category,
    "rfc822msgid": _rfc822msgid,
    "subject": lambda v: _in_header("Subject", v), "list": lambda v: _in_header("List-Id", v),
    "after": lambda v: _dated(v, newer=True, relative=False),
    "before": lambda v: _dated(v, newer=False, relative=False),
    "newer_than": lambda v: _dated(v, newer=True, relative=True),
    "older_than": lambda v: _dated(v, newer=False, relative=True),
    "larger": lambda v: _sized(v, larger=True), "size": lambda v: _sized(v, larger=True),
    "smaller": lambda v: _sized(v, larger=False),
    **{name: (lambda v, h=headers: _header(h, v)) for name, headers in _HEADERS.items()},
}
OPERATORS = frozenset(_BUILDERS)


def predicate(op: str, value: str) -> Test:
    """The test an operator (or "" for free text) makes; a value Gmail cannot read is searched as words."""
    built = _BUILDERS[op](value) if op in _BUILDERS else None
    return built or _word(f"{op}:{value}" if op else value)
