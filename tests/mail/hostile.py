"""Hostile messages, built in code: for tests/mail/test_limits.py and bench/hostile_parse.py."""
from __future__ import annotations

import base64
import random

HEAD = ("To: support@help.example\r\nMessage-ID: <hostile@evil.example>\r\n"
        "Date: Tue, 07 Apr 2026 10:00:01 +0000\r\nMIME-Version: 1.0\r\n")
WORD = "=?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?="   # 34 bytes: "José García"


def encoded_word_from(words: int) -> bytes:
    """A From of `words` encoded words, one per folded line, then the address: 4,000 are 148 KB."""
    name = "\r\n ".join([WORD] * words)
    return (f"From: {name}\r\n <attacker@evil.example>\r\nSubject: Hello\r\n{HEAD}"
            "Content-Type: text/plain\r\n\r\nbody\r\n").encode()


def nested_multipart(depth: int, body_lines: int = 1) -> bytes:
    """Multiparts nested `depth` deep around one text part of `body_lines` short lines."""
    opening = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(depth))
    closing = "".join(f"\r\n--b{i}--\r\n" for i in reversed(range(depth)))
    body = "x\r\n" * body_lines
    return (f"From: Ada <ada@example.org>\r\nSubject: deep\r\n{HEAD}{opening}"
            f"Content-Type: text/plain\r\n\r\n{body}{closing}").encode()


def header_flood(fields: int) -> bytes:
    flood = "".join(f"X-Flood-{i}: {i}\r\n" for i in range(fields))
    return (f"From: Ada <ada@example.org>\r\nSubject: flood\r\n{HEAD}{flood}\r\nbody\r\n").encode()


def long_subject(size: int) -> bytes:
    return (f"From: Ada <ada@example.org>\r\nSubject: Printer {'x' * size}\r\n{HEAD}\r\nbody\r\n").encode()


def many_parts(parts: int) -> bytes:
    body = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\n{i}\r\n" for i in range(parts))
    return (f"From: Ada <ada@example.org>\r\nSubject: parts\r\n{HEAD}"
            f"Content-Type: multipart/mixed; boundary=b\r\n\r\n{body}--b--\r\n").encode()


def html_comment_bomb(size: int) -> bytes:
    """An HTML-only mail: a greeting, then an unterminated comment full of unterminated tags."""
    html = "<p>Hello from the bomb</p><!--" + "<a" * (size // 2)
    return (f"From: Ada <ada@example.org>\r\nSubject: html\r\n{HEAD}"
            f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n").encode()


def no_headers() -> bytes:
    return b"Hello, my printer is broken again.\r\nCan you help?\r\n"


def big_attachment(size: int, seed: int = 0) -> bytes:
    """A short text and one base64 attachment of `size` random bytes (35 MB: a 47 MB message)."""
    data = random.Random(seed).randbytes(size)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = (f"From: Ada <ada@example.org>\r\nSubject: scan\r\n{HEAD}"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
            "Scan attached.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=scan.pdf\r\n\r\n").encode()
    return head + encoded + b"--b--\r\n"


def deep_short_lines(depth: int, lines: int) -> bytes:
    """Nesting within the depth limit around a body of many short lines (the stdlib's lines x depth)."""
    return nested_multipart(depth, lines)


def semicolon_parameters(parts: int, size: int) -> bytes:
    """Parts whose Content-Type holds `size` semicolons inside an open quote."""
    ctype = 'application/octet-stream; name="' + ";" * size
    body = "".join(f"--b\r\nContent-Type: {ctype}\r\n\r\nx\r\n" for _ in range(parts))
    return (f"From: Ada <ada@example.org>\r\nSubject: params\r\n{HEAD}"
            f"Content-Type: multipart/mixed; boundary=b\r\n\r\n{body}--b--\r\n").encode()


def made_up_charsets(words: int) -> bytes:
    """A Subject of encoded words, each in a charset name never seen before."""
    subject = "\r\n ".join(f"=?x-made-up-{i}?Q?a?=" for i in range(words))
    return (f"From: Ada <ada@example.org>\r\nSubject: {subject}\r\n{HEAD}\r\nbody\r\n").encode()


def long_boundaries(depth: int, lines: int, prefix: int) -> bytes:
    """Nested boundaries sharing a long prefix, and body lines that share it too: every line
    test against every open boundary compares `prefix` characters before it fails."""
    shared = "A" * prefix
    opening = "".join(f"Content-Type: multipart/mixed; boundary={shared}{i}\r\n\r\n--{shared}{i}\r\n"
                      for i in range(depth))
    closing = "".join(f"\r\n--{shared}{i}--\r\n" for i in reversed(range(depth)))
    body = f"--{shared}zz\r\n" * lines
    return (f"From: Ada <ada@example.org>\r\nSubject: boundaries\r\n{HEAD}{opening}"
            f"Content-Type: text/plain\r\n\r\n{body}{closing}").encode()


def stray_header_lines(lines: int) -> bytes:
    """A header block of `lines` lines without a colon, then the From a repair would look for."""
    stray = "".join(f"stray line {i} without a field name\r\n" for i in range(lines))
    return (f"Subject: stray\r\n{HEAD}{stray}From: Ada <ada@example.org>\r\n\r\nbody\r\n").encode()


def uuencode_lookalikes(lines: int) -> bytes:
    """A text body of `lines` "begin" lines, each followed by uuencode-like lines and no "end"."""
    block = "begin 644 x.bin\r\n" + "M" + "A" * 60 + "\r\n" * 1
    return (f"From: Ada <ada@example.org>\r\nSubject: uu\r\n{HEAD}Content-Type: text/plain\r\n\r\n"
            + block * lines).encode()


def eight_bit_headers(size: int) -> bytes:
    """`size` bytes of raw 8-bit header text in many fields, for charset detection to read."""
    line = "X-Name: " + "王小明请帮忙" * 20 + "\r\n"
    flood = line.encode("gbk") * max(1, size // len(line.encode("gbk")))
    return (f"From: Ada <ada@example.org>\r\nSubject: 8bit\r\n{HEAD}").encode() + flood + b"\r\nbody\r\n"


def tnef_garbage(size: int, seed: int = 0) -> bytes:
    """A winmail.dat of `size` bytes with TNEF's signature and random attributes after it."""
    data = b"\x78\x9f\x3e\x22\x01\x00" + random.Random(seed).randbytes(size)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (f"From: Ada <ada@example.org>\r\nSubject: tnef\r\n{HEAD}"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
            "--b\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            ).encode() + encoded + b"\r\n--b--\r\n"


def tnef_property_bomb(values: int) -> bytes:
    """A 54-byte winmail.dat whose one MAPI multi-value property claims `values` values (tnefparse
    built an object per claimed value: 4 million took 636 MB)."""
    import struct
    mapi = struct.pack("<IHHI", 1, 0x1002, 0x0001, values)
    tnef = (b"\x78\x9f\x3e\x22\x01\x00" + struct.pack("<BHHI", 2, 0x9002, 0x0006, 1) + b"\x01\x00\x00"
            + struct.pack("<BHHI", 2, 0x9005, 0x0006, len(mapi)) + mapi + struct.pack("<H", sum(mapi) & 0xFFFF))
    return (f"From: Ada <ada@example.org>\r\nSubject: tnef\r\n{HEAD}"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
            "--b\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            ).encode() + base64.b64encode(tnef) + b"\r\n--b--\r\n"


def spaces_in_body(size: int) -> bytes:
    """A body line of `size` spaces after a tab: a header-line regex run over the body backtracked on it."""
    return (f"From: Ada <ada@example.org>\r\nSubject: spaces\r\n{HEAD}Content-Type: text/plain\r\n\r\n"
            f"\t{' ' * size}\xe9\r\n").encode("latin-1")


def loose_addresses(count: int) -> bytes:
    """A To of `count` "a@" with no address: a search for bare addresses backtracked from each."""
    return (f"From: Ada <ada@example.org>\r\nTo: {'a@' * count}\r\nSubject: at\r\n{HEAD}\r\nbody\r\n").encode()
