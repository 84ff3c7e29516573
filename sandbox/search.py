"""Gmail's `q` search syntax (a conjunction of operators, bare words and `-` negations) as a predicate."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sandbox import mime
from sandbox.errors import invalid
from sandbox.mailbox import Mailbox, StoredMessage, message_ids

_TOKEN = re.compile(r'-?[A-Za-z_]+:(?:"[^"]*"|\S+)|-?"[^"]*"|\S+')
_IN = {"inbox": "INBOX", "sent": "SENT", "spam": "SPAM", "trash": "TRASH", "draft": "DRAFT", "drafts": "DRAFT",
       "starred": "STARRED", "important": "IMPORTANT", "unread": "UNREAD", "chats": "CHAT"}
_IS = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}
_SPAN = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}


@dataclass(frozen=True)
class Term:
    negated: bool
    op: str          # "" for a bare word
    value: str


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]

    @property
    def reaches_spam_trash(self) -> bool:
        """Gmail searches Spam/Trash when the query itself asks for them."""
        return any(t.op == "in" and t.value.lower() in ("spam", "trash", "anywhere") and not t.negated
                   for t in self.terms)

    def matches(self, msg: StoredMessage, box: Mailbox) -> bool:
        return all(_match(t, msg, box) != t.negated for t in self.terms)


def parse(q: str | None) -> Query:
    terms = []
    for token in _TOKEN.findall(q or ""):
        if token in ("AND", "(", ")", "{", "}"):
            continue
        negated = token.startswith("-") and len(token) > 1
        token = token[1:] if negated else token
        op, sep, value = token.partition(":")
        if not sep or not value or op.lower() not in _OPERATORS:
            op, value = "", token
        terms.append(Term(negated, op.lower(), value.strip('"').strip("()")))
    return Query(tuple(terms))


def _match(term: Term, msg: StoredMessage, box: Mailbox) -> bool:
    return _OPERATORS[term.op](term.value, msg, box)


def _in(value: str, msg: StoredMessage, box: Mailbox) -> bool:
    if value.lower() == "anywhere":
        return True
    wanted = _IN.get(value.lower())
    return wanted in msg.labels if wanted else _label(value, msg, box)


def _label(value: str, msg: StoredMessage, box: Mailbox) -> bool:
    return bool(box.labels.ids_for_search(value) & msg.labels)


def _is(value: str, msg: StoredMessage, box: Mailbox) -> bool:
    if value.lower() == "read":
        return "UNREAD" not in msg.labels
    return _IS.get(value.lower(), "?") in msg.labels


def _headers(*names: str):
    def match(value: str, msg: StoredMessage, box: Mailbox) -> bool:
        text = " ".join(mime.first_header(msg.parsed, n) for n in names).lower()
        return value.lower() in text
    return match


def _subject(value: str, msg: StoredMessage, box: Mailbox) -> bool:
    return value.lower() in mime.decoded_subject(msg.parsed).lower()


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


def _rfc822msgid(value: str, msg: StoredMessage, box: Mailbox) -> bool:
    wanted = value.strip("<>").lower()
    return wanted in message_ids(mime.first_header(msg.parsed, "Message-ID"))


def _has(value: str, msg: StoredMessage, box: Mailbox) -> bool:
    if value.lower() == "attachment":
        return mime.has_attachment(msg.parsed)
    return _IS.get(value.lower(), "?") in msg.labels


def _word(value: str, msg: StoredMessage, box: Mailbox) -> bool:
    text = getattr(msg, "_search_text", None)
    if text is None:
        parsed = msg.parsed
        text = " ".join([mime.decoded_subject(parsed), mime.text_of(parsed),
                         mime.first_header(parsed, "From"), mime.first_header(parsed, "To")]).lower()
        msg._search_text = text  # type: ignore[attr-defined]  # parsing once per message keeps list fast
    return value.lower() in text


_OPERATORS = {
    "": _word, "in": _in, "label": _label, "is": _is, "has": _has, "subject": _subject,
    "from": _headers("From", "Sender"), "to": _headers("To", "Cc", "Bcc"), "cc": _headers("Cc"),
    "bcc": _headers("Bcc"), "deliveredto": _headers("Delivered-To"), "list": _headers("List-Id"),
    "rfc822msgid": _rfc822msgid,
    "category": lambda v, m, b: f"CATEGORY_{v.upper()}".replace("PRIMARY", "PERSONAL") in m.labels,
    "after": lambda v, m, b: m.internal_date >= _when(v),
    "before": lambda v, m, b: m.internal_date < _when(v),
    "newer_than": lambda v, m, b: m.internal_date >= _age(v),
    "older_than": lambda v, m, b: m.internal_date < _age(v),
    "filename": lambda v, m, b: any(v.lower() in (p.get_filename() or "").lower() for p in m.parsed.walk()),
}
