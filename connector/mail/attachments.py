"""One MIME leaf part as an `Attachment`: name, type, size, hash, Content-ID and inline flag."""
from __future__ import annotations

import hashlib
import quopri
from dataclasses import dataclass, field

from connector.mail.encoded_words import decode_words, lenient_b64decode
from connector.mail.mime import LENIENT, MailPart
from connector.mail.model import Attachment
from connector.mail.uuencode import UU_ENCODINGS, uu_decode


@dataclass(frozen=True)
class FilePart:
    """A file found inside a part rather than being one: a uuencoded block in a text body, a file
    unpacked from a winmail.dat."""
    filename: str
    content_type: str
    data: bytes = field(repr=False)


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
    if data is not None and _cte(part) in UU_ENCODINGS and data == _raw_payload(part):
        data = uu_decode(_raw_payload(part).decode("latin-1"))   # no "begin" line: the stdlib gave up
    elif data is not None and _bad_base64(part):
        # The stdlib hands back the base64 text itself when its length is wrong (a cut upload):
        # the bytes that decode are the file, as far as it came.
        data = lenient_b64decode(_raw_payload(part).decode("latin-1"))
    elif data is not None and _cte(part) in _SPACED and _cte(part) != _cte(part, strip=False):
        # "Content-Transfer-Encoding: base64 " (a space after it): the stdlib compares the value
        # as it stands and hands back the encoded text.
        raw = _raw_payload(part)
        data = lenient_b64decode(raw.decode("latin-1")) if _cte(part) == "base64" else quopri.decodestring(raw)
    if data is None:
        payload = part._payload          # as in _raw_payload: never through the charset label
        if isinstance(payload, list):
            # message/delivery-status, which the stdlib always splits into its blocks of fields:
            # each block written back as it came (no refolding), an empty line after each.
            try:
                return b"".join(p.as_bytes(policy=_AS_WRITTEN) for p in payload)
            except Exception:  # a block the stdlib cannot write back (8-bit in a broken part)
                return b"".join(str(p).encode("utf-8", "surrogateescape") for p in payload)
        return str(payload or "").encode("utf-8", "surrogateescape")
    return data


_AS_WRITTEN = LENIENT.clone(max_line_length=None, linesep="\r\n")


_SPACED = frozenset({"base64", "quoted-printable"})


def _cte(part: MailPart, strip: bool = True) -> str:
    value = str(part.get("Content-Transfer-Encoding", "")).lower()
    return value.strip() if strip else value


def _raw_payload(part: MailPart) -> bytes:
    # The stored payload itself: get_payload() without decode= decodes 8-bit text by the part's
    # charset label, which raises for labels such as "idna".
    payload = part._payload
    if not isinstance(payload, str):
        return b""
    try:
        return payload.encode("ascii", "surrogateescape")
    except UnicodeError:        # as the stdlib falls back for a payload that is text already
        return payload.encode("raw-unicode-escape")


def _bad_base64(part: MailPart) -> bool:
    return (_cte(part) == "base64"
            and any(type(d).__name__ in _BASE64_DEFECTS for d in getattr(part, "defects", ())))


_BASE64_DEFECTS = frozenset({"InvalidBase64LengthDefect", "InvalidBase64CharactersDefect"})


def make_attachment(part: MailPart | FilePart, referenced_cids: frozenset[str],
                    filename: str | None = None) -> Attachment:
    """`filename` as attachment_names chose it; the part's own name when not given."""
    if isinstance(part, FilePart):
        return Attachment(filename=filename or part.filename, content_type=part.content_type, size=len(part.data),
                          sha256=hashlib.sha256(part.data).hexdigest(), content_id=None, inline=False,
                          payload=part.data)
    data = payload_bytes(part)
    cid = content_id(part)
    inline = cid is not None and (disposition(part) == "inline" or cid.lower() in referenced_cids)
    name = part_filename(part) if filename is None else filename
    return Attachment(filename=name, content_type=part.get_content_type(),
                      size=len(data), sha256=hashlib.sha256(data).hexdigest(), content_id=cid,
                      inline=inline, payload=data)
