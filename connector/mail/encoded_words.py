"""RFC 2047 encoded words in headers, decoded leniently (bad padding, bad charsets, split characters)."""
from __future__ import annotations

import base64
import binascii
import re

from connector.mail.charsets import codec_name, decode_text

# The encoded text may hold spaces and tabs, against RFC 2047 but as mailers write it
# ("=?us-ascii?Q?ABC / 123?=", a word folded across lines); it never holds "?", so a word ends at
# the first "?=" and matching stays linear.
_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def lenient_b64decode(text: str) -> bytes:
    """Base64 as broken mailers write it: stray characters skipped, padding missing or surplus."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    # Missing or surplus padding is the commonest breakage; a lone trailing char carries no byte.
    cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return b""


def _q_decode(text: str, charset: str) -> bytes:
    text = text.replace("_", " ")
    if text.isascii():
        data = text.encode("ascii")
    else:
        # A raw 8-bit byte inside the word reached us decoded; it goes back as the word's charset's
        # byte (ASCII stays ASCII: some charsets, UTF-7 among them, would re-encode "+").
        codec = codec_name(charset) or "utf-8"
        data = b"".join(c.encode("ascii") if c.isascii() else _encoded(c, codec) for c in text)
    return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _encoded(char: str, codec: str) -> bytes:
    try:
        return char.encode(codec, "replace")
    except (UnicodeError, LookupError, ValueError):   # a codec that cannot encode at all
        return char.encode("utf-8")


# Words whose label is wrong are read by detection, at most this many per header value: a
# header of thousands of words, each in another label, must not run detection thousands of times.
DETECTIONS_PER_VALUE = 4


def decode_words(value: str) -> tuple[str, list[str]]:
    """Decode every encoded word in `value`; return (text, defects)."""
    pieces: list[tuple[str | None, bytearray | str]] = []   # (charset, bytes) for words, (None, str) for text
    pos = 0
    for match in _WORD.finditer(value):
        between = value[pos:match.start()]
        # Whitespace between two adjacent encoded words is not part of the text (RFC 2047 6.2).
        if between and not (between.isspace() and pieces and pieces[-1][0] is not None):
            pieces.append((None, between))
        charset, enc, text = match.groups()
        data = lenient_b64decode(text) if enc in "bB" else _q_decode(text, charset)
        if pieces and pieces[-1][0] is not None and pieces[-1][0].lower() == charset.lower():
            # Same charset: join bytes first, a multibyte character may be split across words.
            # Extended in place: thousands of words must not copy the bytes so far each time.
            pieces[-1][1].extend(data)  # type: ignore[union-attr]
        else:
            pieces.append((charset, bytearray(data)))
        pos = match.end()
    if pos < len(value):
        pieces.append((None, value[pos:]))
    return _join(pieces)


def _join(pieces: list[tuple[str | None, bytearray | str]]) -> tuple[str, list[str]]:
    out: list[str] = []
    defects: list[str] = []
    budget = DETECTIONS_PER_VALUE
    for charset, chunk in pieces:
        if charset is None:
            out.append(chunk)  # type: ignore[arg-type]
            continue
        text, defect = decode_text(bytes(chunk), charset, detect=budget > 0)  # type: ignore[arg-type]
        budget -= defect is not None
        out.append(text)
        if defect:
            defects.append(f"encoded word: {defect}")
    return "".join(out), defects
