"""Raw RFC 5322 bytes seen the way Gmail presents them: headers, payload parts, snippet, attachments."""
from __future__ import annotations

import base64
import email
import email.errors
import email.header
import email.parser
import email.policy
import re
import secrets
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from cryptography.fernet import Fernet, InvalidToken

# compat32 keeps header values byte-faithful: Gmail returns them as written, unfolded the RFC 5322
# way (the CRLF goes, the whitespace after it stays: "...[209.85.220.41])\r\n        by mx.google.com"
# reads "...[209.85.220.41])        by mx.google.com" in a Received value).
_PARSE_POLICY = email.policy.compat32


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def unb64url(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse(raw: bytes) -> Message:
    """Gmail stores any message it accepts; one nested past the stdlib's recursion is kept with its
    body unparsed (the raw bytes, which the connector fetches, are unchanged)."""
    try:
        return email.message_from_bytes(raw, policy=_PARSE_POLICY)
    except RecursionError:
        return email.parser.BytesParser(policy=_PARSE_POLICY).parsebytes(raw, headersonly=True)


def header_list(msg: Message) -> list[dict]:
    return [{"name": name, "value": _unfold(str(value))} for name, value in msg.items()]


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def first_header(msg: Message, name: str) -> str:
    value = msg.get(name)
    return _unfold(str(value)) if value is not None else ""


def addresses(msg: Message, *names: str) -> list[str]:
    values = [str(v) for n in names for v in (msg.get_all(n) or [])]
    return [addr.lower() for _, addr in getaddresses(values) if addr]


def date_ms(msg: Message) -> int | None:
    try:
        return int(parsedate_to_datetime(first_header(msg, "Date")).timestamp() * 1000)
    except (TypeError, ValueError, IndexError):
        return None


def decoded_subject(msg: Message) -> str:
    raw = first_header(msg, "Subject")
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))
    except (LookupError, ValueError, email.errors.HeaderParseError):
        return raw


def text_of(msg: Message) -> str:
    """Plain text of the first text/plain (else text/html, tags dropped) leaf: for snippets and search."""
    plain = html = ""
    for part in msg.walk():
        if part.is_multipart() or part.get_filename():
            continue
        if part.get_content_type() == "text/plain" and not plain:
            plain = _decode(part)
        elif part.get_content_type() == "text/html" and not html:
            # [^<>]: a tag never spans another "<", so unterminated markup is scanned once, not per "<".
            html = re.sub(r"<[^<>]*>", " ", _decode(part))
    return plain or html


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def snippet(msg: Message) -> str:
    text = " ".join(text_of(msg).split())[:200]
    # Gmail's snippets are HTML-escaped with numeric quote entities.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
        .replace("'", "&#39;")


def has_attachment(msg: Message) -> bool:
    return any(part.get_filename() for part in msg.walk() if not part.is_multipart())


# Gmail's attachment ids are opaque, about 400 characters, and differ on every fetch of the same
# message while each stays valid (the attachments.get reference: "treat it as opaque"; recorded
# responses). Sealed with a key of this process, so no client can decode or build one.
_ATTACHMENT_KEY = Fernet(Fernet.generate_key())
_ATTACHMENT_PAD = 220


def attachment_id(message_id: str, part_id: str) -> str:
    plain = f"{message_id}:{part_id}:".encode()
    plain += secrets.token_urlsafe(_ATTACHMENT_PAD)[: max(0, _ATTACHMENT_PAD - len(plain))].encode()
    return "ANGjdJ" + _ATTACHMENT_KEY.encrypt(plain).decode("ascii").rstrip("=")


def parse_attachment_id(value: str) -> tuple[str, str] | None:
    if not value.startswith("ANGjdJ"):
        return None
    token = value[6:]
    try:
        message_id, part_id, _ = _ATTACHMENT_KEY.decrypt(token + "=" * (-len(token) % 4)).decode().split(":", 2)
    except (InvalidToken, ValueError, UnicodeDecodeError):
        return None
    return message_id, part_id


def find_part(msg: Message, part_id: str) -> Message | None:
    for pid, part in _numbered(msg, ""):
        if pid == part_id:
            return part
    return None


def _numbered(part: Message, part_id: str):
    yield part_id, part
    if part.is_multipart():
        for index, child in enumerate(part.get_payload()):
            child_id = f"{part_id}.{index}" if part_id else str(index)
            yield from _numbered(child, child_id)


def payload(msg: Message, message_id: str, headers_only: bool = False,
            wanted: list[str] | None = None) -> dict:
    """The MessagePart tree Gmail returns for format=full (or, headers only, for format=metadata)."""
    if headers_only:
        headers = header_list(msg)
        if wanted:
            lowered = {w.lower() for w in wanted}
            headers = [h for h in headers if h["name"].lower() in lowered]
        return {"mimeType": msg.get_content_type(), "headers": headers}
    return _part(msg, message_id, "")


def _part(part: Message, message_id: str, part_id: str) -> dict:
    out = {"partId": part_id, "mimeType": part.get_content_type(), "filename": part.get_filename() or "",
           "headers": header_list(part)}
    if part.is_multipart():
        out["body"] = {"size": 0}
        out["parts"] = [_part(child, message_id, f"{part_id}.{i}" if part_id else str(i))
                        for i, child in enumerate(part.get_payload())]
        return out
    data = part.get_payload(decode=True) or b""
    if part.get_filename():
        out["body"] = {"attachmentId": attachment_id(message_id, part_id), "size": len(data)}
    else:
        out["body"] = {"size": len(data), "data": b64url(data)} if data else {"size": 0}
    return out


def part_data(msg: Message, part_id: str) -> bytes | None:
    part = find_part(msg, part_id)
    if part is None or part.is_multipart():
        return None
    return part.get_payload(decode=True) or b""
