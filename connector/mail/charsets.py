"""Turning bytes of unknown or mislabelled charset into text without ever raising."""
from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import functools
import pkgutil
import re

# Mail in the wild labels Windows-1252 as latin-1 and uses charset names Python lacks.
_ALIASES = {
    "unknown-8bit": "utf-8", "x-unknown": "utf-8", "x-user-defined": "cp1252",
    "iso-8859-8-i": "iso-8859-8", "ks_c_5601-1987": "cp949", "gb2312": "gb18030", "gbk": "gb18030",
    "utf8": "utf-8", "x-sjis": "shift_jis", "windows-874": "cp874", "ansi_x3.4-1968": "ascii",
}


# No charset name is longer (the longest IANA name has 45 characters).
_MAX_CHARSET_CHARS = 64


@functools.cache
def _known_codecs() -> frozenset[str]:
    """Normalised names the stdlib can look up: its encodings modules and their aliases."""
    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    return frozenset(modules) | frozenset(encodings.aliases.aliases)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip('"').lower().split("*", 1)[0]   # RFC 2231 language suffix
    name = _ALIASES.get(name, name)
    if len(name) > _MAX_CHARSET_CHARS:
        return None
    # The stdlib caches every name it is asked for, found or not, for the life of the process:
    # made-up names (thousands fit in one header) would grow it without end. Only known names,
    # in their normal form, reach it.
    normal = encodings.normalize_encoding(name)
    known = _known_codecs()
    if normal not in known and normal.replace(".", "_") not in known:
        return None
    try:
        return codecs.lookup(normal).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode with the declared charset, then utf-8, then cp1252; return (text, defect or None)."""
    codec = _codec(charset)
    if codec is not None:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            pass
    elif not charset and data.isascii():
        return data.decode("ascii"), None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        fallback = "cp1252"
    else:
        fallback = "utf-8"
    if codec is None and not charset:
        return text, None if fallback == "utf-8" else "undeclared 8-bit text decoded as cp1252"
    if codec is None:
        return text, f"unknown charset {charset!r}; read as {fallback}"
    return text, f"text labelled {codec!r} did not decode; read as {fallback}"


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def unescape_8bit(value: str) -> str:
    """Raw 8-bit header bytes arrive surrogate-escaped from the parser; make them real text."""
    # Searched in C: this runs on every header read, and header values can be 64 KB long.
    if not _ESCAPED_BYTE.search(value):
        return value
    text, _ = decode_text(value.encode("ascii", "surrogateescape"), "utf-8")
    return text
