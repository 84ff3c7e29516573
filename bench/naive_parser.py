"""The baseline the mail core is measured against: the standard library's `email` package with
`policy.default` and nothing else, as a 60-line helpdesk parser would use it."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses


@dataclass(frozen=True)
class NaiveAddress:
    name: str
    email: str


@dataclass(frozen=True)
class NaiveAttachment:
    filename: str
    payload: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


@dataclass
class NaiveMail:
    from_: NaiveAddress = NaiveAddress("", "")
    to: tuple = ()
    subject: str = ""
    body_text: str = ""
    body_html: str | None = None
    attachments: list = field(default_factory=list)


def _addresses(value) -> list[NaiveAddress]:
    try:
        return [NaiveAddress(n, e.lower()) for n, e in getaddresses([str(value)]) if e]
    except Exception:
        return []


def naive_parse(raw: bytes) -> NaiveMail:
    out = NaiveMail()
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        senders = _addresses(msg.get("From", ""))
        out.from_ = senders[0] if senders else NaiveAddress("", "")
        out.to = tuple(_addresses(msg.get("To", "")))
        out.subject = str(msg.get("Subject", ""))
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        out.body_text = text.get_content() if text is not None else ""
        out.body_html = html.get_content() if html is not None else None
        for part in msg.iter_attachments():
            data = part.get_payload(decode=True) or b""
            out.attachments.append(NaiveAttachment(part.get_filename() or "", data))
    except Exception:  # the naive parser gives up where the stdlib raises
        pass
    return out
