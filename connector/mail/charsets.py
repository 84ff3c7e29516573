"""Turning bytes of unknown or mislabelled charset into text without ever raising."""
from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import functools
import pkgutil
import re

import chardet

# Mail in the wild labels Windows-1252 as latin-1 and uses charset names Python lacks.
_ALIASES = {
    "unknown-8bit": "utf-8", "x-unknown": "utf-8", "x-user-defined": "cp1252",
    "iso-8859-8-i": "iso-8859-8", "ks_c_5601-1987": "cp949", "gb2312": "gb18030", "gbk": "gb18030",
    "utf8": "utf-8", "x-sjis": "shift_jis", "windows-874": "cp874", "ansi_x3.4-1968": "ascii",
    "unicode-1-1-utf-7": "utf-7", "unicode-2-0-utf-7": "utf-7", "x-unicode-2-0-utf-7": "utf-7",
    "unicode-1-1-utf-8": "utf-8", "x-gbk": "gb18030", "cp936": "gb18030",
    "iso-2022-jp-3": "iso2022_jp_3", "shift-jis": "shift_jis", "x-mac-roman": "mac_roman",
}


# "cp-850", "ibm-437", "ibm850": code pages under the spellings mailers use.
_NUMBERED = re.compile(r"^(?:cp-|ibm-?|windows-?cp-?)(\d{3,5})$")

# No charset name is longer (the longest IANA name has 45 characters).
_MAX_CHARSET_CHARS = 64


@functools.cache
def _known_codecs() -> frozenset[str]:
    """Normalised names the stdlib can look up: its encodings modules and their aliases."""
    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    return frozenset(modules) | frozenset(encodings.aliases.aliases)


def codec_name(charset: str | None) -> str | None:
    """Python's codec for a mail charset label, or None when it names none we can trust."""
    return _codec(charset)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip('"').lower().split("*", 1)[0]   # RFC 2231 language suffix
    name = _ALIASES.get(name, _NUMBERED.sub(r"cp\1", name))
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


# Labels that mailers put on whatever they send: text so labelled that is valid UTF-8 (with
# non-ASCII in it) is UTF-8, since Latin-1 text almost never happens to be valid UTF-8.
_CATCH_ALL_LABELS = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15"})
# Detection reads this much: a few KB decide it, and its cost grows with the input.
DETECT_BYTES = 16 * 1024
# ESC $ @, ESC $ B (JIS X 0208), ESC $ ( D, ESC ( J: ISO-2022-JP is 7-bit, so nothing marks it 8-bit.
_ISO2022_JP = re.compile(rb"\x1b(?:\$[@B]|\$\(D|\(J)")
_ISO2022_JP_TEXT = re.compile(_ISO2022_JP.pattern.decode("ascii"))


def detect_charset(data: bytes) -> str | None:
    """The charset of text whose label is missing or wrong, by detection (chardet 7, whose
    language models tell GB18030 from Big5 and Shift_JIS on a few characters); None if unsure."""
    sample = data[:DETECT_BYTES]
    if _ISO2022_JP.search(sample):
        return "iso2022_jp"
    if sample.isascii():
        return None
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(data) > len(sample):
            return "utf-8"           # the sample cut a character in two
    if _reads_as_western(sample):
        return "cp1252"
    found = chardet.detect(sample).get("encoding")
    return _codec(found) if found else None


_WORD_RUN = re.compile(r"[^\W\d_]+")
# Punctuation and signs of Western text outside words; "¿¡" open Spanish sentences.
_WESTERN_SYMBOLS = frozenset("€–—“”‘’„«»°§©®·…\xa0£¥´¿¡×")


def _reads_as_western(data: bytes) -> bool:
    """Whether the bytes read as Western European text in cp1252: its non-ASCII characters are
    letters inside mostly-ASCII words ("café", "Grüße"). A few accented bytes are too little for
    detection (it read "café olé" as Greek); Cyrillic or CJK bytes read this way give words made
    wholly of accented letters and symbols ("Ñåðãåé"), which this refuses."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    foreign = letters = 0
    for word in _WORD_RUN.findall(text):
        if not word.isascii():
            letters += len(word)
            foreign += sum(not c.isascii() for c in word)
    odd = sum(not c.isascii() and c not in _WESTERN_SYMBOLS for c in _WORD_RUN.sub("", text))
    return letters > 0 and odd == 0 and foreign / letters <= 0.5


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Text from bytes by their label, else UTF-8, else detection, else cp1252, never raising;
    returns (text, defect or None), the defect saying how the text was read when not by its label."""
    codec = _codec(charset)
    jis = _ISO2022_JP.search(data[:DETECT_BYTES]) is not None
    if codec is not None and not (jis and codec in _CATCH_ALL_LABELS):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            pass
        else:
            if codec in _CATCH_ALL_LABELS and not data.isascii() and _is_utf8(data):
                return data.decode("utf-8"), f"text labelled {codec!r} is UTF-8; read as utf-8"
            return text, None
    if not charset and data.isascii() and not jis:
        return data.decode("ascii"), None
    if jis:
        used = "iso2022_jp"
    elif _is_utf8(data):
        used = "utf-8"
    elif _mostly_utf8(data):
        # UTF-8 text with a few Latin-1 bytes in it (a reply quoting an older message): each part
        # as it was written, rather than all of it as one wrong charset.
        used = "utf-8 with stray bytes as cp1252"
    else:
        used = detect_charset(data) or "cp1252"
    text = data.decode("utf-8" if used.startswith("utf-8") else used,
                       errors=_STRAY_AS_CP1252 if used.startswith("utf-8 ") else "replace")
    if used not in ("utf-8", "cp1252") and not used.startswith("utf-8 "):
        used = f"{used} (by detection)"
    if codec is None and not charset:
        return text, None if used == "utf-8" else f"undeclared 8-bit text decoded as {used}"
    if codec is None:
        return text, f"unknown charset {charset!r}; read as {used}"
    return text, f"text labelled {codec!r} did not decode; read as {used}"


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xef][\x80-\xbf]{2}"
                            rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_8BIT = re.compile(rb"[\x80-\xff]")
# Share of 8-bit bytes inside valid UTF-8 sequences above which text is UTF-8 with stray bytes:
# GB18030, Big5, Shift_JIS and EUC text reach 0.3 to 0.45 by chance, single-byte charsets 0.
MOSTLY_UTF8 = 0.7
_STRAY_AS_CP1252 = "connector-stray-cp1252"


def _stray_as_cp1252(exc: UnicodeDecodeError) -> tuple[str, int]:
    return exc.object[exc.start:exc.end].decode("cp1252", errors="replace"), exc.end


codecs.register_error(_STRAY_AS_CP1252, _stray_as_cp1252)


def _mostly_utf8(data: bytes) -> bool:
    sample = data[:DETECT_BYTES * 4]
    high = len(_8BIT.findall(sample))
    return high > 0 and sum(len(m) for m in _UTF8_SEQUENCE.findall(sample)) / high >= MOSTLY_UTF8


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Header fields and filename parameters holding raw 8-bit bytes (no RFC 2047 encoding).
_8BIT_HEADER_LINE = re.compile(rb"^(?:[!-9;-~]+[ \t]*:|[ \t]+[^\r\n]*name\*?=)[^\r\n]*[\x80-\xff][^\r\n]*",
                               re.MULTILINE | re.IGNORECASE)
HEADER_SCAN_BYTES = 256 * 1024
_8BIT_RUN = re.compile(rb"(?:[\x80-\xff][\x40-\xff]?)+")


def header_charset(raw: bytes) -> str | None:
    """What the message's raw 8-bit header text is written in, judged once over all of it in its
    first HEADER_SCAN_BYTES: a sender name of three characters says little, the name, subject and
    filenames together say enough. None when there is none or it is UTF-8."""
    lines = b"\n".join(m.group(0) for m in _8BIT_HEADER_LINE.finditer(raw, 0, min(len(raw), HEADER_SCAN_BYTES)))
    if not lines or _is_utf8(lines):
        return None
    if _reads_as_western(lines):
        return "cp1252"
    # Only the 8-bit runs go to detection: "Content-Disposition: attachment; filename=" around
    # three Big5 characters made it guess hp-roman8. A run keeps the byte after each 8-bit one,
    # the second half of a double-byte character that may be ASCII.
    found = detect_charset(b" ".join(_8BIT_RUN.findall(lines)))
    return None if found == "utf-8" else found


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def unescape_8bit(value: str, charset: str | None = None) -> str:
    """Raw 8-bit header bytes arrive surrogate-escaped from the parser; make them real text, as
    UTF-8 where they are, else in `charset` (what the message's 8-bit headers were detected as)."""
    # Searched in C: this runs on every header read, and header values can be 64 KB long.
    if "\x1b" in value and _ISO2022_JP_TEXT.search(value):
        try:
            return decode_text(value.encode("ascii", "surrogateescape"), None)[0]
        except UnicodeEncodeError:
            return value        # already text (decoded by the caller): nothing raw left to read
    if not _ESCAPED_BYTE.search(value):
        return value
    data = value.encode("ascii", "surrogateescape")
    if charset and charset != "utf-8" and not _is_utf8(data):
        return data.decode(charset, errors="replace")
    return decode_text(data, "utf-8")[0]
