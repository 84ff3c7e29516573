"""Gmail's `q` search language parsed into a tree of AND / OR / NOT over operator tests.

The grammar follows Google's help page "Search operators you can use with Gmail"
(support.google.com/mail/answer/7190): terms side by side must all match; `OR` (upper case only) and
`{a b}` mean any of; `( )` groups, also after an operator (`subject:(dinner movie)`); `-` removes
a term or a group; `" "` is an exact phrase. OR binds tighter than the implicit AND, so
`a b OR c` is `a (b OR c)`. Gmail answers a query it cannot read by searching its pieces as words,
so nothing here raises over syntax: a stray bracket, a dangling OR or an unknown `foo:` become words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple

from sandbox.mailbox import Mailbox, StoredMessage
from sandbox.search_operators import OPERATORS, Test, predicate

_TOKEN = re.compile(r"""
    (?P<msgid>rfc822msgid):(?P<id>\S+?)(?=[)}]*(?:\s|$))  # a message id is one run, braces and all
  | (?P<field>\w+):(?=[({"])                              # an operator over a group or a phrase
  | (?P<op>\w+):(?P<value>[^\s)}]+)
  | (?P<bracket>[(){}])
  | "(?P<phrase>[^"]*)"?                                  # an unclosed quote runs to the end
  | (?P<minus>-)(?=[^\s)}])
  | (?P<word>[^\s(){}"]+)
""", re.X | re.I)
_NOT_OPERAND = (None, ")", "}", "OR", "AND")
_CLOSER = {"(": ")", "{": "}"}
# Deeper nesting than any person writes; past it brackets are words, so a hostile query cannot
# exhaust the interpreter's stack.
_MAX_DEPTH = 50


class _Token(NamedTuple):
    kind: str
    text: str
    value: str = ""


@dataclass(frozen=True)
class Leaf:
    op: str                      # "" for free text
    value: str
    test: Test = field(compare=False, repr=False)

    @classmethod
    def of(cls, op: str, value: str) -> "Leaf":
        return cls(op, value, predicate(op, value))

    def matches(self, msg: StoredMessage, box: Mailbox) -> bool:
        return self.test(msg, box)

    def leaves(self, positive: bool = True) -> Iterator["Leaf"]:
        if positive:
            yield self


@dataclass(frozen=True)
class All:
    parts: tuple

    def matches(self, msg: StoredMessage, box: Mailbox) -> bool:
        return all(p.matches(msg, box) for p in self.parts)

    def leaves(self, positive: bool = True) -> Iterator[Leaf]:
        for part in self.parts:
            yield from part.leaves(positive)


@dataclass(frozen=True)
class AnyOf(All):
    def matches(self, msg: StoredMessage, box: Mailbox) -> bool:
        return any(p.matches(msg, box) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: object

    def matches(self, msg: StoredMessage, box: Mailbox) -> bool:
        return not self.part.matches(msg, box)

    def leaves(self, positive: bool = True) -> Iterator[Leaf]:
        return self.part.leaves(not positive)


@dataclass(frozen=True)
class Query:
    root: object

    @property
    def reaches_spam_trash(self) -> bool:
        """Gmail searches Spam/Trash when the query itself asks for them, in any alternative."""
        return any(leaf.op == "in" and leaf.value.lower() in ("spam", "trash", "anywhere")
                   for leaf in self.root.leaves())

    def matches(self, msg: StoredMessage, box: Mailbox) -> bool:
        return self.root.matches(msg, box)


def parse(q: str | None) -> Query:
    return Query(_Parser(_tokens(q or "")).sequence("", None))


def _tokens(q: str) -> list[_Token]:
    found = []
    for m in _TOKEN.finditer(q):
        if m["msgid"]:
            found.append(_Token("op", "rfc822msgid", m["id"]))
        elif m["field"] or m["op"]:
            found.append(_Token("field", m["field"]) if m["field"] else _Token("op", m["op"], m["value"]))
        elif m["phrase"] is not None:
            found.append(_Token("phrase", m["phrase"]))
        else:
            text = m[0]
            kind = text if text in ("(", ")", "{", "}", "-", "OR", "AND") else "word"
            found.append(_Token(kind, text))
    return found


class _Parser:
    """Recursive descent; `scope` is the operator that bare words inside `from:( ... )` belong to."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.pos, self.depth = tokens, 0, 0

    def _peek(self, ahead: int = 0) -> str | None:
        at = self.pos + ahead
        return self.tokens[at].kind if at < len(self.tokens) else None

    def _take(self) -> _Token:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def sequence(self, scope: str, closer: str | None, kind: type = All):
        """Terms up to the closer: all of them, or (inside braces) any of them."""
        parts = []
        while self._peek() not in (None, closer):
            if self._peek() == "AND":   # Gmail accepts AND; it is what side by side means anyway
                self._take()
                continue
            parts.append(self._alternatives(scope))
        return parts[0] if len(parts) == 1 else (kind(tuple(parts)) if parts else All(()))

    def _alternatives(self, scope: str):
        parts = [self._unary(scope)]
        while self._peek() == "OR" and self._peek(1) not in _NOT_OPERAND:
            self._take()
            parts.append(self._unary(scope))
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _unary(self, scope: str):
        negated = False
        while self._peek() == "-":
            self._take()
            negated = not negated
        term = self._primary(scope)
        return Not(term) if negated else term

    def _primary(self, scope: str):
        token = self._take()
        if token.kind in _CLOSER and self.depth < _MAX_DEPTH:
            return self._group(scope, token.kind)
        if token.kind == "field":
            name = token.text.lower()
            return self._primary(name) if name in OPERATORS else Leaf.of(scope, token.text)
        if token.kind == "op":
            return Leaf.of(token.text.lower(), token.value)
        return Leaf.of(scope, token.text)   # a word, a phrase, or a stray bracket, OR or AND

    def _group(self, scope: str, opener: str):
        closer = _CLOSER[opener]
        self.depth += 1
        inner = self.sequence(scope, closer, AnyOf if opener == "{" else All)
        self.depth -= 1
        if self._peek() == closer:
            self._take()
        return inner
