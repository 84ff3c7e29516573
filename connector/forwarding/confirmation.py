"""Google's "Gmail Forwarding Confirmation" mail: recognising it and reading its code and link."""
from __future__ import annotations

import re
from dataclasses import dataclass

NOREPLY = "forwarding-noreply@google.com"
SUBJECT_MARK = "gmail forwarding confirmation"

_CODE_IN_SUBJECT = re.compile(r"\(#(\d{6,12})\)")
_CODE_IN_BODY = re.compile(r"confirmation code:\s*(\d{6,12})", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']+")
_REQUESTED_BY = re.compile(r"([^\s<>@]+@[^\s<>@]+?)\s+has requested to automatically forward", re.IGNORECASE)
_FROM_USER = re.compile(r"receive mail from\s+([^\s<>@]+@[^\s<>@]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Confirmation:
    requested_by: str            # the Gmail address that wants to forward ("" when the text changed)
    code: str | None             # newer confirmation mails may carry no code
    link: str | None


def is_confirmation(from_email: str, subject: str) -> bool:
    return from_email.lower() == NOREPLY and SUBJECT_MARK in subject.lower()


def parse_confirmation(subject: str, body: str) -> Confirmation:
    code = _CODE_IN_SUBJECT.search(subject) or _CODE_IN_BODY.search(body)
    who = _REQUESTED_BY.search(body) or _FROM_USER.search(subject)
    return Confirmation(requested_by=who.group(1).lower().rstrip(".") if who else "",
                        code=code.group(1) if code else None, link=_confirmation_link(body))


def _confirmation_link(body: str) -> str | None:
    """The link that confirms: Google's /mail/vf- links, else the first one that is not help text."""
    urls = [u.rstrip(".,;)") for u in _URL.findall(body)]
    for url in urls:
        if "/mail/vf-" in url or "confirm" in url.lower():
            return url
    return next((u for u in urls if "support.google.com" not in u), None)
