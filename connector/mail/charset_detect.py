"""Which charset unlabelled or mislabelled bytes are in: UTF-8, Western European, or what chardet 7
detects among the charsets mail is written in; and the one charset of a message's raw 8-bit headers."""
from __future__ import annotations

import re

import chardet

from connector.mail.charset_names import codec_name

# Detection reads this much: a few KB decide it, and its cost grows with the input.
DETECT_BYTES = 16 * 1024
# ESC $ @, ESC $ B (JIS X 0208), ESC $ ( D, ESC ( J: ISO-2022-JP is 7-bit, so nothing marks it 8-bit.
ISO2022_JP = re.compile(rb"\x1b(?:\$[@B]|\$\(D|\(J)")
# What detection may answer: charsets mail is written in. chardet also proposes EBCDIC, DOS and
# Mac code pages and hp-roman8 for a few random bytes, which would turn a header into noise.
MAIL_CHARSETS = frozenset(filter(None, map(codec_name, (
    "utf-8", "gb18030", "big5", "big5hkscs", "shift_jis", "cp932", "euc-jp", "iso-2022-jp", "euc-kr", "cp949",
    "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874",
    "iso-8859-1", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6", "iso-8859-7",
    "iso-8859-8", "iso-8859-9", "iso-8859-13", "iso-8859-15", "iso-8859-16", "koi8-r", "koi8-u", "tis-620"))))

LATIN_NEIGHBOURS = frozenset(filter(None, map(codec_name, ("cp1250", "iso-8859-2", "cp1254", "iso-8859-9",
                                                            "cp1257", "iso-8859-13", "iso-8859-16"))))


def detect_charset(data: bytes) -> str | None:
    """The charset of text whose label is missing or wrong; None if unsure."""
    sample = data[:DETECT_BYTES]
    if ISO2022_JP.search(sample):
        return "iso2022_jp"
    if sample.isascii():
        return None
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(data) > len(sample):
            return "utf-8"           # the sample cut a character in two
    if reads_as_western(sample):
        return latin_charset(sample)
    found = codec_name(chardet.detect(sample).get("encoding"))
    return found if found in MAIL_CHARSETS else None


def latin_charset(sample: bytes) -> str:
    """cp1252 for text that reads as Western, or the Central European or Turkish charset detection
    names when the text's accented bytes are all letters inside words: "Jiří" reads as "Jiøí" in
    cp1252 too. Western signs («», €, °) keep cp1252: detection wanders on short Western text
    (Greek, Mac code pages, and cp1250 for "«Bonjour»")."""
    text = sample.decode("cp1252", "replace")
    if any(not c.isascii() for c in _WORD_RUN.sub("", text)):
        return "cp1252"
    found = codec_name(chardet.detect(sample).get("encoding"))
    return found if found in LATIN_NEIGHBOURS else "cp1252"


_WORD_RUN = re.compile(r"[^\W\d_]+")
# Punctuation and signs of Western text outside words; "¿¡" open Spanish sentences.
_WESTERN_SYMBOLS = frozenset("€–—“”‘’„«»°§©®·…\xa0£¥´¿¡×")
# Share of accented letters in the words holding any: Cyrillic, Greek or CJK bytes read as cp1252
# give words made wholly of them ("Ñåðãåé"); Western words have a few ("Grüße", "Ærø").
MAX_ACCENTED_SHARE = 0.75


def reads_as_western(data: bytes) -> bool:
    """Whether the bytes read as Western European text in cp1252: accented letters inside mostly
    ASCII words or alone ("à"), and Western signs (€, °, «»). A few accented bytes are too little
    for detection (it read "café olé" as Greek and "20 €" as Hebrew)."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    accented = letters = 0
    for word in _WORD_RUN.findall(text):
        if not word.isascii() and len(word) > 1:
            letters += len(word)
            accented += sum(not c.isascii() for c in word)
    outside = [c for c in _WORD_RUN.sub("", text) if not c.isascii()]
    if any(c not in _WESTERN_SYMBOLS for c in outside):
        return False
    if letters == 0:
        return bool(outside) or any(not c.isascii() for c in text)
    return accented / letters <= MAX_ACCENTED_SHARE


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xef][\x80-\xbf]{2}"
                            rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_8BIT = re.compile(rb"[\x80-\xff]")
# Share of 8-bit bytes inside valid UTF-8 sequences above which text is UTF-8 with stray bytes:
# GB18030, Big5, Shift_JIS and EUC text reach 0.3 to 0.45 by chance, single-byte charsets 0.
MOSTLY_UTF8 = 0.7


def mostly_utf8(data: bytes) -> bool:
    sample = data[:DETECT_BYTES * 4]
    high = len(_8BIT.findall(sample))
    return high > 0 and sum(len(m) for m in _UTF8_SEQUENCE.findall(sample)) / high >= MOSTLY_UTF8


HEADER_SCAN_BYTES = 256 * 1024
HEADER_SAMPLE_BYTES = 64 * 1024
_EOL = re.compile(rb"\r\n|\r|\n")
_8BIT_RUN = re.compile(rb"(?:[\x80-\xff][\x40-\xff]?)+")


def header_charset(raw: bytes) -> str | None:
    """What the message's raw 8-bit header text is written in, judged once over all of it: a sender
    name of three characters says little, the name, subject and filenames together say enough.
    Reads the header blocks only (the message's, and each part's after a boundary line), in the
    first HEADER_SCAN_BYTES; None when there is none or it is UTF-8."""
    lines: list[bytes] = []
    size, in_header, pos, stop = 0, True, 0, min(len(raw), HEADER_SCAN_BYTES)
    while pos < stop and size < HEADER_SAMPLE_BYTES:
        eol = _EOL.search(raw, pos, stop)
        end = eol.start() if eol else stop
        if end == pos:
            in_header = False                       # the empty line after a header block
        elif raw.startswith(b"--", pos):
            in_header = True                        # a boundary: a part's headers follow
        elif in_header and not raw[pos:end].isascii():
            lines.append(raw[pos:end])
            size += end - pos
        pos = eol.end() if eol else stop
    joined = b"\n".join(lines)
    if not joined or is_utf8(joined):
        return None
    if reads_as_western(joined):
        # Not latin_charset: beside "Subject:" and "From:" detection took "Señor" for Polish.
        return "cp1252"
    # Only the 8-bit runs go to detection: "Content-Disposition: attachment; filename=" around
    # three Big5 characters made it guess hp-roman8. A run keeps the byte after each 8-bit one,
    # the second half of a double-byte character that may be ASCII.
    found = detect_charset(b" ".join(_8BIT_RUN.findall(joined)))
    return None if found == "utf-8" else found
