"""uuencoded files, as old mailers send them: in a Content-Transfer-Encoding of x-uuencode, or as
"begin 644 name ... end" blocks inside a plain-text body (Outlook Express, mailing-list digests)."""
from __future__ import annotations

import binascii
import re

UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})
# A block in text: "begin MODE NAME", lines of uuencoded data, "end". Lines are at most 61
# characters of the uuencode alphabet; bounded repetition keeps the match linear.
_BLOCK = re.compile(r"^begin [0-7]{3,4} ([^\r\n]{1,255})\r?\n((?:[\x20-\x60]{1,62}\r?\n){0,2000000}?)"
                    r"`?\r?\nend[ \t\r]*$", re.MULTILINE)


def uu_decode(text: str) -> bytes:
    """The bytes of uuencoded `text`; the "begin" and "end" lines are optional, and a line whose
    length byte lies (a common breakage) gives what it holds."""
    out = bytearray()
    for line in text.splitlines():
        if line.startswith("begin ") or not line.strip() or not line.isascii():
            continue
        if line.strip() in ("end", "`"):
            if line.strip() == "end":
                break
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # The stdlib's own workaround: the length byte says how many bytes the line holds.
            count = ((ord(line[0]) - 32) & 63) * 4 // 3 + 3 if line else 0
            try:
                out += binascii.a2b_uu(line[:count])
            except binascii.Error:
                continue
    return bytes(out)


# A text with more files than this in it is no person's message: the rest stay text.
MAX_FILES = 100


def split_uuencoded(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(the text without its uuencoded blocks, [(file name, bytes)]); `text` itself when it has none."""
    if "begin " not in text:
        return text, []
    files: list[tuple[str, bytes]] = []

    def take(match: re.Match) -> str:
        files.append((match.group(1).strip(), uu_decode(match.group(2))))
        return ""

    rest = _BLOCK.sub(take, text, count=MAX_FILES)
    return (rest, files) if files else (text, [])
