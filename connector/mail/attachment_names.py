"""A name for every attachment, as a helpdesk shows them: a file without a name cannot be opened.

The part's own name first (Content-Disposition filename, Content-Type name, RFC 2231 and RFC 2047
decoded). A nameless part is named as mature helpdesks name it (Zammad's parser is the model):
an attached message by its subject (".eml"), a report part or a message's Content-Description by
what it is, an inline image by the file name in its Content-ID ("image001.jpg@01CD..."), a
signature as "signature.asc" / "smime.p7s", anything else by its type ("image.jpg", "file").
Names made up here never repeat within a message ("video.mov", "video1.mov"); a sender's own
names are kept as sent, repeats included."""
from __future__ import annotations

import re
from typing import Iterable

from connector.mail.attachments import FilePart, part_filename, payload_bytes
from connector.mail.fallback import first_header
from connector.mail.file_types import extension_of
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
    """One name per part, in order: the sender's own (made safe), else one made up that no other
    name of the message has, the sender's included (compared without case, as file systems do)."""
    parts = list(parts)
    own = [safe_filename(p.filename if isinstance(p, FilePart) else part_filename(p)) for p in parts]
    taken = _Taken(own)
    return [name or taken.claim(_made_up(part, taken)) for part, name in zip(parts, own)]


class _Taken:
    """Names in use, and per stem the next number to try: "video.mov", "video1.mov", ... in constant
    time per name, however many nameless parts a message has."""

    def __init__(self, names: Iterable[str]):
        self._names = {n.lower() for n in names if n}
        self._next: dict[str, int] = {}

    def has(self, name: str) -> bool:
        return name.lower() in self._names

    def claim(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        candidate, n = name, self._next.get(name.lower(), 1)
        while candidate.lower() in self._names:
            candidate, n = f"{stem}{n}{dot}{ext}", n + 1
        self._next[name.lower()] = n
        self._names.add(candidate.lower())
        return candidate


# Controls, and the bidirectional overrides that make "gpj.exe" show as "exe.jpg".
_CONTROL = re.compile("[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def safe_filename(name: str) -> str:
    """A sender's file name as a file name: its last path segment ("../../.bashrc" is ".bashrc"),
    without controls or direction overrides, at most MAX_NAME_CHARS with its extension kept."""
    name = _CONTROL.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in (".", ".."):
        return ""
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot else ""
        name = (stem if dot else name)[:MAX_NAME_CHARS - len(ext) - 1] + (dot + ext if ext else "")
    return name


def _made_up(part: MailPart | FilePart, taken: _Taken) -> str:
    if isinstance(part, FilePart):
        return _by_type(part.content_type)
    ctype = part.get_content_type()
    if ctype in _MESSAGES:
        subject = first_header(payload_bytes(part), "Subject")
        base = _clean(subject or _description(part) or "message") + ".eml"
    elif ctype.startswith("message/") and _description(part):
        base = _clean(_description(part)) + ".txt"
    else:
        base = _from_content_id(part, taken) or WELL_KNOWN.get(ctype) or _by_type(ctype)
    return base


def _description(part: MailPart) -> str:
    return " ".join(str(part.get("Content-Description") or "").split())


def _from_content_id(part: MailPart, taken: _Taken) -> str:
    cid = str(part.get("Content-ID") or "").strip().strip("<>").split("@", 1)[0]
    return cid if _CID_FILE.match(cid) and not taken.has(cid) else ""


def _by_type(ctype: str) -> str:
    main, _, sub = ctype.partition("/")
    ext = extension_of(ctype)
    if not ext and main in ("image", "video", "audio") and sub.isalnum() and len(sub) <= 5:
        ext = "." + sub                     # image/jpg, a common misspelling of image/jpeg
    return _STEMS.get(main, "file") + ext


def _clean(text: str) -> str:
    return _UNSAFE.sub(" ", text).strip()[:MAX_NAME_CHARS] or "message"
