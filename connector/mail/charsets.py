"""Turning bytes of unknown or mislabelled charset into text without ever raising."""
from __future__ import annotations

import re

from connector.mail.charset_detect import DETECT_BYTES, ISO2022_JP, detect_charset, header_charset, is_utf8, mostly_utf8
from connector.mail.charset_names import codec_name

__all__ = ["codec_name", "decode_text", "header_charset", "unescape_8bit"]

# Labels that mailers put on whatever they send: text so labelled that is valid UTF-8 (with
# non-ASCII in it) is UTF-8, since Latin-1 text almost never happens to be valid UTF-8.
_CATCH_ALL_LABELS = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15"})
_ISO2022_JP_TEXT = re.compile(ISO2022_JP.pattern.decode("ascii"))
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]+")
# UTF-7, UTF-16 and UTF-32 decode lone surrogates ("+2AA-"): text that cannot be stored or shown.
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_text(data: bytes, charset: str | None, detect: bool = True) -> tuple[str, str | None]:
    """Text from bytes by their label, else UTF-8, else (with `detect`) detection, else cp1252,
    never raising; returns (text, defect or None), the defect saying how the text was read when
    not by its label."""
    codec = codec_name(charset)
    jis = ISO2022_JP.search(data[:DETECT_BYTES]) is not None
    if codec is not None and not (jis and codec in _CATCH_ALL_LABELS):
        text = _decode(data, codec, "strict")
        if text is not None:
            if codec in _CATCH_ALL_LABELS and not data.isascii() and is_utf8(data):
                return data.decode("utf-8"), f"text labelled {codec!r} is UTF-8; read as utf-8"
            return _SURROGATE.sub("\ufffd", text), None
    if not charset and data.isascii() and not jis:
        return data.decode("ascii"), None
    if jis:
        used = "iso2022_jp"
    elif is_utf8(data):
        used = "utf-8"
    elif mostly_utf8(data):
        # UTF-8 text with a few Latin-1 bytes in it (a reply quoting an older message): each part
        # as it was written, rather than all of it as one wrong charset.
        used = "utf-8 with stray bytes as cp1252"
    else:
        used = (detect_charset(data) if detect else None) or "cp1252"
    text = _mixed(data) if used.startswith("utf-8 ") else _decode(data, used, "replace") or ""
    text = _SURROGATE.sub("\ufffd", text)
    if used not in ("utf-8", "cp1252") and not used.startswith("utf-8 "):
        used = f"{used} (by detection)"
    if codec is None and not charset:
        return text, None if used == "utf-8" else f"undeclared 8-bit text decoded as {used}"
    if codec is None:
        return text, f"unknown charset {charset!r}; read as {used}"
    return text, f"text labelled {codec!r} did not decode; read as {used}"


def _decode(data: bytes, codec: str, errors: str) -> str | None:
    try:
        return data.decode(codec, errors)
    except (UnicodeError, LookupError, ValueError, TypeError):   # a codec that is no charset after all
        return None if errors == "strict" else data.decode("cp1252", "replace")


def _mixed(data: bytes) -> str:
    """UTF-8, with each byte that is not part of a UTF-8 sequence read as cp1252."""
    text = data.decode("utf-8", "surrogateescape")
    return _ESCAPED_BYTE.sub(lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"), text)


def unescape_8bit(value: str, charset: str | None = None) -> str:
    """Raw 8-bit header bytes arrive surrogate-escaped from the parser; make them real text, as
    UTF-8 where they are, else in `charset` (what the message's 8-bit headers were detected as),
    else cp1252: detection already ran once for the whole message (header_charset)."""
    # Searched in C: this runs on every header read, and header values can be 64 KB long.
    if "\x1b" in value and _ISO2022_JP_TEXT.search(value):
        try:
            return decode_text(value.encode("ascii", "surrogateescape"), None, detect=False)[0]
        except UnicodeEncodeError:
            return value        # already text (decoded by the caller): nothing raw left to read
    if not _ESCAPED_BYTE.search(value):
        return value
    data = value.encode("ascii", "surrogateescape")
    if charset and charset != "utf-8" and not is_utf8(data):
        return _decode(data, charset, "replace") or ""
    return decode_text(data, "utf-8", detect=False)[0]
