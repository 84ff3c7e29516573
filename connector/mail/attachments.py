"""One MIME leaf part as an `Attachment`: name, type, size, hash, Content-ID and inline flag."""
from __future__ import annotations

import hashlib

from connector.mail.encoded_words import decode_words
from connector.mail.mime import MailPart
from connector.mail.model import Attachment


def part_filename(part: MailPart) -> str:
    """Filename from Content-Disposition or Content-Type name, RFC 2231 and RFC 2047 decoded."""
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:  # malformed parameters: a nameless attachment is better than none
        name = ""
    if isinstance(name, tuple):   # an RFC 2231 value the stdlib left undecoded
        name = name[2]
    text, _ = decode_words(str(name))
    return text.strip().replace("\x00", "")


def content_id(part: MailPart) -> str | None:
    value = part.get("Content-ID")
    if not value:
        return None
    cid = str(value).strip().strip("<>").strip()
    return cid or None


def disposition(part: MailPart) -> str:
    value = part.get("Content-Disposition")
    return str(value).split(";", 1)[0].strip().lower() if value else ""


def payload_bytes(part: MailPart) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # undecodable transfer encoding: keep what the source holds
        data = None
    if data is None:
        payload = part.get_payload()
        if isinstance(payload, list):   # message/delivery-status: blocks of headers
            return b"\n".join(p.as_bytes() for p in payload)
        return str(payload or "").encode("utf-8", "surrogateescape")
    return data


def make_attachment(part: MailPart, referenced_cids: frozenset[str]) -> Attachment:
    data = payload_bytes(part)
    cid = content_id(part)
    inline = cid is not None and (disposition(part) == "inline" or cid.lower() in referenced_cids)
    return Attachment(filename=part_filename(part), content_type=part.get_content_type(),
                      size=len(data), sha256=hashlib.sha256(data).hexdigest(), content_id=cid,
                      inline=inline, payload=data)
