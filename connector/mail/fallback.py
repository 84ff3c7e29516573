"""A ParsedMail for a message we will not read in full: a few capped headers, the original attached.

Linear in the bytes it looks at (at most SCAN_BYTES of the header block) and never raises, so
anyone can call it with any bytes and any reason, e.g. "too complex: reading it took over 20 s"."""
from __future__ import annotations

import codecs
import hashlib
import re

from connector.mail.addresses import parse_addresses
from connector.mail.charsets import decode_text
from connector.mail.classify import classify
from connector.mail.encoded_words import decode_words
from connector.mail.headers import message_ids, parse_date, synthesised_message_id
from connector.mail.model import Address, Attachment, ParsedMail

SCAN_BYTES = 512 * 1024    # of the header block (its limit): honest ones are a few KB
VALUE_BYTES = 2 * 1024     # of one header value: enough for any honest subject or address list
TAIL_BYTES = 256           # the end of a cut address field, where its address usually is
WANTED = ("From", "Reply-To", "To", "Cc", "Subject", "Message-ID", "Date", "In-Reply-To",
          "References", "Return-Path", "Sender")
_WANTED = {name.lower(): name for name in WANTED}
_EOL = re.compile(rb"\r\n|\r|\n")
_HEADER_LINE = re.compile(rb"From |[!-9;-~]*[ \t]*:|[ \t]")   # as limits.header_block_problem
_BRACKETED_ADDRESS = re.compile(rb"<([^<>\s@]+@[^<>\s@]+)>")


class _Field:
    """One wanted header field: its value up to VALUE_BYTES, and the end of its last line."""

    def __init__(self, name: str):
        self.name, self.value, self.cut, self.tail = name, bytearray(), False, b""

    def add(self, raw: bytes, start: int, end: int) -> None:
        room = max(0, VALUE_BYTES - len(self.value))
        self.value += raw[start:min(end, start + room)]
        self.cut = self.cut or end - start > room
        self.tail = raw[max(start, end - TAIL_BYTES):end]


def fallback_mail(raw: bytes, reason: str) -> ParsedMail:
    """What a person needs to decide about a message held back for `reason`: who sent it, about
    what, in which thread; the whole message rides along as original.eml."""
    reason = reason or "not read in full"
    fields = _wanted_fields(raw)
    texts = [(f.name, _text(bytes(f.value)).strip()) for f in fields]
    headers = tuple((name, decode_words(text)[0]) for name, text in texts)
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    first = {name: found[0] for name, found in values.items()}
    address = {name: parse_addresses(name, [t for n, t in texts if n == name])[0]
               for name in ("From", "Reply-To", "To", "Cc")}
    message_id = next(iter(message_ids(first.get("message-id"))), None) or synthesised_message_id(raw)
    return ParsedMail(
        raw=raw, message_id=message_id, subject=first.get("subject", ""),
        from_=_sender(address["From"], [f for f in fields if f.name == "From"], first.get("from", "")),
        reply_to=address["Reply-To"], to=address["To"], cc=address["Cc"],
        date=parse_date(first["date"])[0] if "date" in first else None,
        in_reply_to=next(iter(message_ids(first.get("in-reply-to"))), None),
        references=tuple(message_ids(" ".join(values.get("references", [])))),
        body_text=f"This message could not be read in full ({reason}); "
                  "the original is attached as original.eml.",
        body_html=None, attachments=(_original(raw),), headers=headers,
        classification=classify(headers, ()), defects=(reason,), too_complex=reason,
    )


def first_header(raw: bytes, name: str) -> str:
    """The first `name` field (one of WANTED) of raw's header block, decoded and capped; "" if none.
    Cheap on any bytes: used to name an attached message by its subject without parsing it."""
    wanted = _WANTED[name.lower()]
    field = next((f for f in _wanted_fields(raw) if f.name == wanted), None)
    return decode_words(_text(bytes(field.value)).strip())[0] if field else ""


def _wanted_fields(raw: bytes) -> list[_Field]:
    """The wanted fields of the message's header block, in order, each value capped; one pass
    over at most SCAN_BYTES, ending where the stdlib would end the block."""
    stop = min(len(raw), SCAN_BYTES)
    fields: list[_Field] = []
    current: _Field | None = None
    pos = 0
    while pos < stop:
        eol = _EOL.search(raw, pos, stop)
        end = eol.start() if eol else stop
        if end == pos or not _HEADER_LINE.match(raw, pos, end):
            break
        if raw[pos] in b" \t":
            if current is not None:
                current.add(raw, pos, end)          # unfolded: the line break goes, the space stays
        else:
            colon = raw.find(b":", pos, min(end, pos + 80))
            name = raw[pos:colon].strip().decode("latin-1").lower() if colon >= 0 else ""
            current = _Field(_WANTED[name]) if name in _WANTED else None
            if current is not None:
                fields.append(current)
                head = raw[colon + 1:min(end, colon + 1 + VALUE_BYTES)]
                current.add(raw, colon + 1 + len(head) - len(head.lstrip(b" \t")), end)
        pos = eol.end() if eol else stop
    return fields


def _text(data: bytes) -> str:
    """UTF-8 where it is (a character cut by the cap is dropped), else what decode_text makes of it."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return decode_text(data, None)[0]


def _sender(found: tuple[Address, ...], fields: list[_Field], decoded: str) -> Address:
    """The first From address with an email; for a cut field, the address at its very end."""
    for address in found:
        if address.email:
            return address
    for field in fields:
        tail = _BRACKETED_ADDRESS.findall(field.tail) if field.cut else []
        if tail:
            # The cut value is no address list any more: its decoded text is the best name.
            return Address(name=decoded[:200].strip(), email=tail[-1].decode("latin-1").lower())
    return found[0] if found else Address("", "")


def _original(raw: bytes) -> Attachment:
    return Attachment(filename="original.eml", content_type="message/rfc822", size=len(raw),
                      sha256=hashlib.sha256(raw).hexdigest(), content_id=None, inline=False, payload=raw)
