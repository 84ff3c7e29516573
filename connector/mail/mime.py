"""The stdlib MIME parser, made lenient, bounded and linear, with enclosed messages kept as bytes."""
from __future__ import annotations

import re
from email import utils
from email.feedparser import FeedParser
from email.message import Message
from email.policy import Compat32
from typing import Iterator

from connector.mail.charsets import header_charset, unescape_8bit
from connector.mail.header_repair import repair_header_block
from connector.mail.limits import DEFAULT_LIMITS, TOO_DEEP_FOR_THE_PARSER, MailLimits, ParserGuard, TooComplex



class _LenientPolicy(Compat32):
    """compat32 never raises on header access; we only turn raw 8-bit header bytes into text."""

    header_charset: str | None = None     # of the message's raw 8-bit headers (charsets.header_charset)

    def header_fetch_parse(self, name, value):
        return unescape_8bit(value, self.header_charset)


LENIENT = _LenientPolicy()


class MailPart(Message):
    """A message part whose enclosed messages stay opaque leaves of the MIME tree, whose parameters
    are read in linear time and never raise, and which tells its guard what the parser adds."""

    _guard: ParserGuard | None = None
    _depth = 0
    repairs: list[str] = []     # what repair_header_block changed, on the root only
    related_root = None         # of a multipart/related: its root part (bodies._is_resource)

    def get_content_maintype(self) -> str:
        # The feed parser recurses into a part when this says "message"; we say "application",
        # for every message/* type (message/news too): an enclosed message is an attachment, and
        # parsing it would make the stdlib re-serialise it later where it must be kept byte for
        # byte. The stdlib splits message/delivery-status into its blocks whatever this says
        # (attachments.payload_bytes joins them again).
        if self.get_content_type().startswith("message/"):
            return "application"
        return super().get_content_maintype()

    def set_raw(self, name, value):
        if self._guard is not None:
            self._guard.header_added(name, value)
        super().set_raw(name, value)

    def attach(self, payload):
        if self._guard is not None:
            self._guard.part_added(self._depth + 1)
        payload._depth = self._depth + 1
        super().attach(payload)

    def get_boundary(self, failobj=None):
        # Read by the parser itself: see MailLimits.max_boundary_chars.
        boundary = super().get_boundary(failobj)
        limits = self._guard.limits if self._guard is not None else DEFAULT_LIMITS
        if isinstance(boundary, str) and len(boundary) > limits.max_boundary_chars:
            return failobj
        return boundary

    def get_params(self, failobj=None, header="content-type", unquote=True):
        params = _params(self, header)
        if params is None:
            return failobj
        return [(k, _unquoted(v)) for k, v in params] if unquote else params

    def get_param(self, param, failobj=None, header="content-type", unquote=True):
        wanted = param.lower()
        for key, value in _params(self, header) or ():
            if key.lower() == wanted:
                return _unquoted(value) if unquote else value
        return failobj


# One parameter: up to a ";" outside quotes. A quote after a backslash is escaped, as the stdlib
# counts it; an unclosed quote runs to the end. Possessive, so nothing is ever rescanned.
_PARAMETER = re.compile(r'(?:[^;"]++|(?<=\\)"|"(?:[^"]++|(?<=\\)")*+(?:"|\Z))*+')
# Honest parts have under 10 parameters (an RFC 2231 filename in pieces); a flood of ";" is read
# only this far, so each lookup stays cheap however many parts ask.
MAX_PARAMETERS = 64


def _split_params(value: str) -> list[str]:
    """The pieces email.message._parseparam makes, in one regex pass: the stdlib copies the rest
    of the value and recounts its quotes at every ";" (64 KB of quoted semicolons took 2 s)."""
    pieces: list[str] = []
    start = 0
    while len(pieces) < MAX_PARAMETERS:
        end = _PARAMETER.match(value, start).end()
        piece = value[start:end]
        if "=" in piece:
            key, _, rest = piece.partition("=")
            piece = key.strip().lower() + "=" + rest.strip()
        pieces.append(piece.strip())
        if end >= len(value):
            break
        start = end + 1
    return pieces


def _params(part: Message, header: str) -> list | None:
    value = part.get(header)
    if value is None:
        return None
    pairs = []
    for piece in _split_params(str(value)):
        key, _, val = piece.partition("=")
        pairs.append((key.strip(), val.strip()))
    try:
        return utils.decode_params(pairs)
    except (ValueError, TypeError):
        # Broken RFC 2231 continuations (mixed numbering, numbers over 4,300 digits): the stdlib
        # raises; the plain parameters still say what the part is.
        return utils.decode_params(pairs[:1] + [p for p in pairs[1:] if "*" not in p[0]])


def _unquoted(value):
    if isinstance(value, tuple):
        return value[0], value[1], utils.unquote(value[2])
    return utils.unquote(value)


_FEED_BYTES = 64 * 1024


def _line_count(raw: bytes) -> int:
    return raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")


def parse_tree(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> MailPart:
    """The MIME tree of `raw`; raises TooComplex as soon as the message is over `limits`."""
    guard = ParserGuard(limits, _line_count(raw))
    policy = LENIENT.clone(header_charset=header_charset(raw))

    def new_part(policy=policy) -> MailPart:   # the parser also calls it once, to probe it
        part = MailPart(policy=policy)
        part._guard = guard
        return part

    try:
        # Only the copy we parse is adjusted; ParsedMail.raw keeps the exact bytes received.
        data, repairs = repair_header_block(raw, limits.max_header_block_bytes)
        parser = FeedParser(new_part, policy=policy)
        # Fed in slices, as BytesParser would but without first turning all of it into one
        # string and a StringIO (4 bytes a character): 50 MB of mail took 350 MB that way.
        for start in range(0, len(data), _FEED_BYTES):
            parser.feed(data[start:start + _FEED_BYTES].decode("ascii", "surrogateescape"))
        root = parser.close()
        root.repairs = repairs
        return root
    except RecursionError:
        raise TooComplex(TOO_DEEP_FOR_THE_PARSER) from None


def walk_parts(root: Message) -> Iterator[Message]:
    """Message.walk() without its recursion, in the same order: the part, then its children."""
    stack = [root]
    while stack:
        part = stack.pop()
        yield part
        if part.is_multipart():
            stack.extend(reversed([c for c in part.get_payload() if isinstance(c, Message)]))


def part_defects(root: MailPart) -> list[str]:
    """The parser's own defects on every part, by class name and short text."""
    out: list[str] = []
    for index, part in enumerate(walk_parts(root)):
        where = "message" if index == 0 else f"part {index}"
        for defect in getattr(part, "defects", ()):
            # Defect texts quote source lines: raw 8-bit bytes must not leak out as surrogates.
            detail = unescape_8bit(str(defect)[:1000]).strip()[:80]
            out.append(f"{where}: {type(defect).__name__}" + (f": {detail}" if detail else ""))
    return out
