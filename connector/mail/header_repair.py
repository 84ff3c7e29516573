"""Repairs to the message's own header block where broken mailers would otherwise lose From,
Subject and the whole MIME structure. Made on the copy we parse; ParsedMail.raw keeps the bytes.

The stdlib ends the header block at the first line that is neither a field nor a continuation, and
turns everything after it into body text. Real mail has such lines: a forwarding script's
"---- Original email message ----" before the first field, a Received field whose continuation lost
its indent ("by mail.example.com with ESMTP"), a UTF-8 byte-order mark before the first field
(MimeKit's fixtures), "Name :value" (RFC 5322 obs-syntax) and "multipart/mixed boundary=" without
its ";". A stray line is kept in the header block only when a field a reader needs still follows
before the empty line; otherwise it really is where the body begins.
"""
from __future__ import annotations

import re

BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
# Fields whose presence after a stray line shows that the header block goes on.
_NEEDED = re.compile(rb"(?:from|to|cc|subject|date|message-id|mime-version|content-type|"
                     rb"content-transfer-encoding|reply-to|sender|received|return-path|in-reply-to|"
                     rb"references|delivered-to)[ \t]*:", re.IGNORECASE)
_SPACE_BEFORE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
_BOUNDARY_WITHOUT_SEMICOLON = re.compile(rb"^(content-type:[ \t]*multipart/[!-:<-~]+?)(\s+boundary=)",
                                         re.IGNORECASE | re.MULTILINE)
SHOWN_CHARS = 60


def repair_header_block(raw: bytes, scan_bytes: int) -> tuple[bytes, list[str]]:
    """(the bytes to parse, what was repaired); `raw` itself when nothing needed repair, since
    mail may be 50 MB and the parser makes copies enough. Looks at most `scan_bytes` of header."""
    notes: list[str] = []
    data = raw
    if data.startswith(BOM):
        data = data[len(BOM):]
        notes.append("message: a UTF-8 byte-order mark before the first header, ignored")
    lines, end, ended = _header_lines(data, scan_bytes)
    last_needed = max((i for i, (s, e) in enumerate(lines) if _NEEDED.match(data, s, e)), default=-1)
    kept: list[bytes] = []
    rebuilt = seen_field = False
    index = 0
    while index < len(lines):
        line = data[lines[index][0]:lines[index][1]]
        is_field = bool(_FIELD.match(line)) or (index == 0 and line.startswith(b"From "))
        if is_field or line[:1] in (b" ", b"\t"):
            seen_field = seen_field or is_field
            kept.append(line)
            index += 1
            continue
        run = _stray_run(data, lines, index, last_needed)
        if not ended or run is None or (seen_field and any(data.startswith(b"--", s) for s, _ in lines[index:run])):
            # The body starts here, as the stdlib reads it: no needed field right after these lines,
            # a boundary among them (a multipart with no empty line after its headers), or a
            # header block that does not end within the scan.
            kept.extend(data[s:e] for s, e in lines[index:])
            break
        rebuilt = True
        for number in range(index, run):
            shown = data[lines[number][0]:lines[number][1]][:SHOWN_CHARS].decode("latin-1")
            if seen_field:
                kept.append(b" " + data[lines[number][0]:lines[number][1]])
                notes.append(f"message: header line {number + 1} has no field name ({shown!r}); "
                             "read as the continuation of the field before it")
            else:
                notes.append(f"message: line {number + 1} before the headers is no header ({shown!r}); skipped")
        index = run
    head = b"\r\n".join(kept) + b"\r\n" if rebuilt else data[:end]
    fixed = _SPACE_BEFORE_COLON.sub(rb"\1:", head)
    fixed = _BOUNDARY_WITHOUT_SEMICOLON.sub(rb"\1;\2", fixed)
    if fixed != head:
        notes.append("message: an obsolete header form (a space before the colon, or no ';' before boundary=) "
                     "read as its modern form")
    if not notes:
        return raw, []
    return fixed + data[end:], notes


# Lines without a colon read as header text only this many in a row (a Received field's lost
# indents, a folded base64 tracker value); a longer run is the body.
MAX_STRAY_RUN = 20


def _stray_run(data: bytes, lines: list[tuple[int, int]], first: int, last_needed: int) -> int | None:
    """Where the run of stray lines from `first` ends, when a field follows it at once and a field
    a reader needs (From, Subject, Content-Type, Received, ...) still follows before the empty line."""
    end = first
    while end < len(lines) and end - first <= MAX_STRAY_RUN:
        s, e = lines[end]
        if _FIELD.match(data, s, e) or data[s:s + 1] in (b" ", b"\t"):
            break
        end += 1
    if end - first > MAX_STRAY_RUN or end == len(lines):
        return None
    return end if last_needed >= end else None


def _header_lines(data: bytes, scan_bytes: int) -> tuple[list[tuple[int, int]], int, bool]:
    """(start, end) of each line of the header block, where the block ends, and whether it ended
    at its empty line within the scan."""
    stop = min(len(data), scan_bytes)
    lines: list[tuple[int, int]] = []
    pos = 0
    while pos < stop:
        eol = _EOL.search(data, pos, stop)
        end = eol.start() if eol else stop
        if end == pos:
            return lines, pos, True
        lines.append((pos, end))
        pos = eol.end() if eol else stop
    return lines, pos, False
