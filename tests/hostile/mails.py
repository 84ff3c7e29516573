"""The hostile inputs of the acceptance test, and the ordinary mail sent between them, as CRLF bytes.

Every builder takes the To address and a `tag` that makes its Message-ID and sender unique, so
the copies sent through Gmail and through SMTP never dedupe against each other, and the mail-loop
guard (more than 20 an hour from one sender) never speaks. Sizes are arguments: `SUITE` is what
the test suite sends, `FULL` the issue's sizes (bench/hostile.py), `QUICK` a small variant.
"""
from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from typing import Callable

WORD = "=?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?="      # 34 bytes: "José García"
EIGHT_BIT_SENDER = b"j\xf6ran@example.org"      # Latin-1, as an old MTA writes it
ATTACHMENT_NAME = "scan.pdf"
# base64 at 76 characters a line plus CRLF: 78 bytes on the wire for every 57 bytes of data.
BASE64_GROWTH = 78 / 57


def _head(subject: str, to: str, tag: str, sender: str | None = None) -> str:
    sender = sender or f"Ada Lovelace <ada.{tag}@example.org>"
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{tag}@hostile.example>\r\n"
            "Date: Tue, 07 Apr 2026 10:00:01 +0000\r\nMIME-Version: 1.0\r\n")


def ordinary(to: str, tag: str) -> bytes:
    """A customer's plain request: what must keep becoming a ticket while the hostile mail goes by."""
    return (_head(f"Printer on floor 3 ({tag})", to, tag, f"Customer <customer.{tag}@example.org>")
            + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            + "Hello,\r\n\r\nthe printer on floor 3 jams again.\r\n\r\nThanks\r\n").encode()


def encoded_word_from(words: int, to: str, tag: str) -> bytes:
    """A From of `words` RFC 2047 encoded words, one per folded line, then the address: 4,000 are 148 KB."""
    name = "\r\n ".join([WORD] * words)
    return (_head("Hello", to, tag, f"{name}\r\n <attacker.{tag}@evil.example>")
            + "Content-Type: text/plain\r\n\r\nbody\r\n").encode()


def nested_multipart(depth: int, to: str, tag: str) -> bytes:
    """Multiparts nested `depth` deep around one short text part."""
    opening = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(depth))
    closing = "".join(f"\r\n--b{i}--\r\n" for i in reversed(range(depth)))
    return (_head("deep", to, tag) + opening + "Content-Type: text/plain\r\n\r\nx\r\n" + closing).encode()


def html_comment_bomb(size: int, to: str, tag: str) -> bytes:
    """An HTML-only mail: a greeting, then an unterminated comment full of unterminated tags (`<!--<a<a<a...`),
    quadratic for an HTML-to-text pass that rescans for the comment's or tag's end."""
    html = "<p>Hello from the bomb</p><!--" + "<a" * (size // 2)
    # In lines of 76, as SMTP must carry it (at most 998 a line); a line break inside a tag changes nothing.
    lines = "\r\n".join(html[i:i + 76] for i in range(0, len(html), 76))
    return (_head("html", to, tag) + f"Content-Type: text/html; charset=utf-8\r\n\r\n{lines}\r\n").encode()


def header_flood(fields: int, to: str, tag: str) -> bytes:
    flood = "".join(f"X-Flood-{i}: {i}\r\n" for i in range(fields))
    return (_head("flood", to, tag) + flood + "\r\nbody\r\n").encode()


def attachment_bytes(message_bytes: int) -> int:
    """The attachment size that makes a `big_attachment` message of about `message_bytes`."""
    return int(message_bytes / BASE64_GROWTH)


def big_attachment(message_bytes: int, to: str, tag: str) -> bytes:
    """A short text and one base64 attachment of random bytes, the whole message about `message_bytes`."""
    data = random.Random(tag).randbytes(attachment_bytes(message_bytes))
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = (_head("scan", to, tag) + "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nScan attached.\r\n"
            "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename={ATTACHMENT_NAME}\r\n\r\n").encode()
    return head + encoded + b"--b--\r\n"


@dataclass(frozen=True)
class Sizes:
    from_words: tuple[int, ...] = (4_000, 8_000)
    depth: int = 1_500
    html_bytes: int = 1_000_000
    flood_fields: int = 5_000
    attachment_message_bytes: int = 20_000_000


SUITE = Sizes()                                      # the issue's, with a 20 MB rather than 30 MB message
FULL = Sizes(attachment_message_bytes=30_000_000)    # the issue's: SMTP takes 35 MB, so 30 MB with its base64
QUICK = Sizes(from_words=(2_000,), depth=150, html_bytes=100_000, flood_fields=1_500,
              attachment_message_bytes=2_000_000)


@dataclass(frozen=True)
class HostileInput:
    """One hostile message and what the connector must make of it.

    `held`: suspended as too complex, with `reason` in its reason; otherwise read within the budget
    and ticketed like any mail (the HTML bomb and the big attachment are hostile to the reader's
    time and memory, not over any limit)."""
    name: str
    build: Callable[[str, str], bytes]              # (to, tag) -> bytes
    held: bool
    reason: str = ""


def hostile_inputs(sizes: Sizes = SUITE, path: str = "smtp") -> list[HostileInput]:
    """The inputs in the order they are sent, for the `path` (gmail or smtp) they go through."""
    html_bytes = sizes.html_bytes
    inputs = [HostileInput(f"from_{n}_encoded_words", lambda to, tag, n=n: encoded_word_from(n, to, tag),
                           held=True, reason="From") for n in sizes.from_words]
    return inputs + [
        HostileInput(f"nested_{sizes.depth}_multiparts", lambda to, tag: nested_multipart(sizes.depth, to, tag),
                     held=True, reason="nested"),
        HostileInput(f"html_comment_bomb_{html_bytes // 1000}_kb",
                     lambda to, tag: html_comment_bomb(html_bytes, to, tag), held=False),
        HostileInput(f"header_flood_{sizes.flood_fields}_fields",
                     lambda to, tag: header_flood(sizes.flood_fields, to, tag), held=True, reason="header fields"),
        HostileInput(f"attachment_{sizes.attachment_message_bytes // 1_000_000}_mb",
                     lambda to, tag: big_attachment(sizes.attachment_message_bytes, to, tag), held=False),
    ]
