"""A name for every attachment, as a helpdesk shows them: a file without a name cannot be opened.

The part's own name first (Content-Disposition filename, Content-Type name, RFC 2231 and RFC 2047
decoded). A nameless part is named as mature helpdesks name it (Zammad's parser is the model):
an attached message by its subject (".eml"), a report part or a message's Content-Description by
what it is, an inline image by the file name in its Content-ID ("image001.jpg@01CD..."), a
signature as "signature.asc" / "smime.p7s", anything else by its type ("image.jpg", "file").
Names made up here never repeat within a message ("video.mov", "video1.mov"); a sender's own
names are kept as sent, repeats included."""
from __future__ import annotations

import mimetypes
import re
from typing import Iterable

from connector.mail.attachments import FilePart, part_filename, payload_bytes
from connector.mail.fallback import first_header
from connector.mail.mime import MailPart

WELL_KNOWN = {
    "message/delivery-status": "delivery-status.txt",
    "message/global-delivery-status": "delivery-status.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "message/feedback-report": "feedback-report.txt",
    "text/rfc822-headers": "headers.txt",
    "application/pgp-signature": "signature.asc",
    "application/pkcs7-signature": "smime.p7s",
    "application/x-pkcs7-signature": "smime.p7s",
    "application/pkcs7-mime": "smime.p7m",
    "application/x-pkcs7-mime": "smime.p7m",
    "application/ms-tnef": "winmail.dat",
    "application/vnd.ms-tnef": "winmail.dat",
    "text/calendar": "invite.ics",
    # RFC 3156's PGP/MIME version part ("Version: 1"): nothing anyone opens, but it is a part.
    "application/pgp-encrypted": "file",
}
_MESSAGES = frozenset({"message/rfc822", "message/global"})
_STEMS = {"image": "image", "video": "video", "audio": "audio", "text": "document"}
_CID_FILE = re.compile(r"^[\w.+-]{1,100}\.[\w]{1,10}$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")
MAX_NAME_CHARS = 200


def attachment_names(parts: Iterable[MailPart | FilePart]) -> list[str]:
    """One name per part, in order."""
    names: list[str] = []
    taken: set[str] = set()
    for part in parts:
        if isinstance(part, FilePart):
            name = part.filename or _unique(_by_type(part.content_type), taken)
        else:
            name = part_filename(part) or _made_up(part, taken)
        taken.add(name)
        names.append(name)
    return names


def _made_up(part: MailPart, taken: set[str]) -> str:
    ctype = part.get_content_type()
    if ctype in _MESSAGES:
        subject = first_header(payload_bytes(part), "Subject")
        base = _clean(subject or _description(part) or "message") + ".eml"
    elif ctype.startswith("message/") and _description(part):
        base = _clean(_description(part)) + ".txt"
    else:
        base = _from_content_id(part, taken) or WELL_KNOWN.get(ctype) or _by_type(ctype)
    return _unique(base, taken)


def _description(part: MailPart) -> str:
    return " ".join(str(part.get("Content-Description") or "").split())


def _from_content_id(part: MailPart, taken: set[str]) -> str:
    cid = str(part.get("Content-ID") or "").strip().strip("<>").split("@", 1)[0]
    return cid if _CID_FILE.match(cid) and cid not in taken else ""


def _by_type(ctype: str) -> str:
    main, _, sub = ctype.partition("/")
    ext = mimetypes.guess_extension(ctype, strict=False) or ""
    if not ext and main in ("image", "video", "audio") and sub.isalnum() and len(sub) <= 5:
        ext = "." + sub                     # image/jpg, a common misspelling of image/jpeg
    if ext in (".jpe", ".jpeg"):
        ext = ".jpg"
    return _STEMS.get(main, "file") + ext


def _clean(text: str) -> str:
    return _UNSAFE.sub(" ", text).strip()[:MAX_NAME_CHARS] or "message"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    for n in range(1, 10_000):
        candidate = f"{stem}{n}{dot}{ext}"
        if candidate not in taken:
            return candidate
    return name
