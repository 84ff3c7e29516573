"""How much of a message we agree to read, and the cheap checks that tell when a message is over it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message


@dataclass(frozen=True)
class MailLimits:
    """Reading budget of one message. Each default is far above honest mail and far below the cost
    that hurts: the shared mail corpora (bounces, list mail, Office 365, Gmail) peak at 82 header
    fields, an 8.9 KB field, 17 MIME parts and a nesting depth of 6."""

    # One header field, unfolded. The longest honest ones are DKIM/ARC seals and References of
    # long threads, a few KB. Our decoding is linear, but every rule that reads a header pays it.
    max_header_bytes: int = 64 * 1024
    # Fields in one header block (the message's or a part's): honest mail has under 100, of which
    # most are Received and authentication results; every rule that reads headers is linear in it.
    max_header_fields: int = 1_000
    # The whole header block of the message or of one part, folds included.
    max_header_block_bytes: int = 512 * 1024
    # Header fields of all parts together: honest parts have about 4 each. The stdlib spends
    # about 1.5 us on each (2,500 parts of 1,000 fields, 25 MB: 4 s) before any rule of ours.
    max_header_fields_total: int = 50_000
    # MIME parts, counting the message itself. Every part costs parser objects and a pass of our
    # body and attachment rules; a real mail with 5,000 attachments does not exist.
    max_mime_parts: int = 5_000
    # Nesting of multiparts. Honest mail nests under 10 deep (forwards of forwards); the stdlib's
    # parser recurses once per level and overflows Python's stack near 1,000.
    max_mime_depth: int = 100
    # The stdlib tests every line against the boundary of every enclosing multipart, so its work
    # is lines x depth (about 0.08 us each): 35 MB of short lines 100 deep would take minutes.
    # Honest mail: a 50 MB base64 attachment is 680,000 lines, nested 4 deep at most.
    max_lines_times_depth: int = 10_000_000
    # RFC 2046 allows 70 characters (the corpora have 82). Each of those line tests compares up
    # to the boundary's length: a longer one is ignored, and its multipart read as one text.
    max_boundary_chars: int = 200


DEFAULT_LIMITS = MailLimits()


class TooComplex(Exception):
    """Stops reading a message: `reason` says, for a person, which limit it went over."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_EOL = re.compile(rb"\r\n|\r|\n")   # the stdlib parser's line ends: a lone CR ends a line too
# A line the stdlib reads as part of a header block (feedparser.headerRE), "Name :" included,
# which parse_tree repairs before parsing.
_HEADER_LINE = re.compile(rb"From |[!-9;-~]*[ \t]*:|[ \t]")


def _kb(size: int) -> str:
    return f"{size // 1024:,} KB"


def header_block_problem(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> str | None:
    """Why the message's own header block is over the limits, or None; read before any parser runs.

    One forward pass over at most max_header_block_bytes, ending where the stdlib ends the block
    (the first empty line or the first line that is no header)."""
    stop = min(len(raw), limits.max_header_block_bytes + 1)
    pos = fields = field_bytes = 0
    name = b""
    while pos < stop:
        eol = _EOL.search(raw, pos, stop)
        end = eol.start() if eol else stop
        if end == pos or not _HEADER_LINE.match(raw, pos, end):
            return _too_many_fields(fields, limits)
        if raw[pos] in b" \t":
            field_bytes += end - pos
        else:
            fields += 1
            field_bytes = end - pos
            name = raw[pos:min(end, pos + 60)].split(b":", 1)[0].strip()
        if field_bytes > limits.max_header_bytes:
            return f"header {name.decode('latin-1')} over {_kb(limits.max_header_bytes)}"
        pos = eol.end() if eol else stop
    if pos > limits.max_header_block_bytes:
        return f"too complex: header block over {_kb(limits.max_header_block_bytes)}"
    return _too_many_fields(fields, limits)


def _too_many_fields(fields: int, limits: MailLimits) -> str | None:
    if fields > limits.max_header_fields:
        return f"too complex: {fields:,} header fields"
    return None


def too_many_parts(count: int, at_least: bool = False) -> str:
    return f"too complex: {'over ' if at_least else ''}{count:,} MIME parts"


def too_deep(depth: int, at_least: bool = False) -> str:
    return f"too complex: MIME parts nested {'over ' if at_least else ''}{depth:,} deep"


TOO_DEEP_FOR_THE_PARSER = "too complex: MIME parts nested deeper than the parser can follow"


class ParserGuard:
    """Told by the parser's hooks what it builds; stops it (TooComplex) at the first limit, before
    that limit's cost: the parser's own work grows with depth, parts and fields, so a check of the
    finished tree comes too late. The parser reads each part's header block right after adding
    the part, so the counts of one block are those since the last part was added."""

    def __init__(self, limits: MailLimits, lines: int):
        self.limits, self.lines = limits, lines
        self.parts, self.fields = 1, 0            # the message itself is part 0
        self.block_fields = self.block_bytes = 0

    def part_added(self, depth: int) -> None:
        limits = self.limits
        self.parts += 1
        self.block_fields = self.block_bytes = 0
        if self.parts > limits.max_mime_parts:
            raise TooComplex(too_many_parts(limits.max_mime_parts, at_least=True))
        if depth > limits.max_mime_depth:
            raise TooComplex(too_deep(limits.max_mime_depth, at_least=True))
        if self.lines * depth > limits.max_lines_times_depth:
            raise TooComplex(f"too complex: {self.lines:,} lines in MIME parts nested {depth} deep")

    def header_added(self, name: str, value: str) -> None:
        limits = self.limits
        size = len(name) + 1 + len(value) - value.count("\n")
        self.fields += 1
        self.block_fields += 1
        self.block_bytes += size
        where = f"part {self.parts - 1}: " if self.parts > 1 else ""
        if size > limits.max_header_bytes:
            raise TooComplex(f"{where}header {name[:60]} over {_kb(limits.max_header_bytes)}")
        if self.block_fields > limits.max_header_fields:
            raise TooComplex(f"{where}too complex: over {limits.max_header_fields:,} header fields")
        if self.block_bytes > limits.max_header_block_bytes:
            raise TooComplex(f"{where}too complex: header block over {_kb(limits.max_header_block_bytes)}")
        if self.fields > limits.max_header_fields_total:
            raise TooComplex(f"too complex: over {limits.max_header_fields_total:,} header fields in all")


def tree_problem(root: Message, limits: MailLimits = DEFAULT_LIMITS) -> str | None:
    """Why a parsed MIME tree is over the part or depth limit, or None. Iterative: a tree too
    deep for Python's stack is exactly what it must report."""
    count = deepest = 0
    stack = [(root, 0)]
    while stack:
        part, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if part.is_multipart():
            stack.extend((child, depth + 1) for child in part.get_payload() if isinstance(child, Message))
    if count > limits.max_mime_parts:
        return too_many_parts(count)
    if deepest > limits.max_mime_depth:
        return too_deep(deepest)
    return None
