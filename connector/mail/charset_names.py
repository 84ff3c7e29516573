"""Mail charset labels to Python text codecs: aliases mailers use, and only codecs that turn bytes
into text (never base64, zlib, idna or unicode_escape, which a label could otherwise name)."""
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
    "unicode-1-1-utf-7": "utf-7", "unicode-2-0-utf-7": "utf-7", "x-unicode-2-0-utf-7": "utf-7",
    "unicode-1-1-utf-8": "utf-8", "x-gbk": "gb18030", "cp936": "gb18030",
    "iso-2022-jp-3": "iso2022_jp_3", "shift-jis": "shift_jis", "x-mac-roman": "mac_roman",
}
# "cp-850", "ibm-437", "ibm850": code pages under the spellings mailers use.
_NUMBERED = re.compile(r"^(?:cp-|ibm-?|windows-?cp-?)(\d{3,5})$")
# Text codecs that are no charsets: a label naming one must not reach the decoder.
_NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})
# No charset name is longer (the longest IANA name has 45 characters).
_MAX_CHARSET_CHARS = 64


@functools.cache
def _known_codecs() -> frozenset[str]:
    """Normalised names the stdlib can look up: its encodings modules and their aliases."""
    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    return frozenset(modules) | frozenset(encodings.aliases.aliases)


def codec_name(charset: str | None) -> str | None:
    """Python's codec for a mail charset label, or None when it names none we can trust."""
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
        info = codecs.lookup(normal)
    except LookupError:
        return None
    # _is_text_encoding is False for bytes-to-bytes and str-to-str codecs (base64, hex, rot13).
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name
