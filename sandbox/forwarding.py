"""The mails Gmail itself writes for forwarding: the confirmation request and the forwarded copy."""
from __future__ import annotations

import random
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone

NOREPLY = "forwarding-noreply@google.com"
_POLICY = policy.SMTP.clone(max_line_length=998)     # keep the subject and the link on one line each


def confirmation_mail(user: str, forward_to: str, link: str) -> tuple[bytes, str]:
    """Google's "Gmail Forwarding Confirmation" mail, and the confirmation code it carries."""
    code = f"{random.randrange(10**8, 10**9)}"
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = f"Gmail Team <{NOREPLY}>"
    mail["To"] = forward_to
    mail["Subject"] = f"(#{code}) Gmail Forwarding Confirmation - Receive Mail from {user}"
    mail["Date"] = format_datetime(datetime.now(timezone.utc))
    mail["Message-ID"] = make_msgid(domain="google.com")
    mail.set_content(
        f"{user} has requested to automatically forward mail to your email\naddress {forward_to}.\n"
        f"Confirmation code: {code}\n\n"
        f"To allow {user} to automatically forward mail to your address,\nplease click the link below "
        f"to confirm the request:\n\n{link}\n\n"
        "If you click the link and it appears to be broken, please copy and paste it\ninto a new browser window.\n\n"
        "If you did not make this request, you can safely ignore this message.\n\nThanks,\n\nThe Gmail Team\n",
        cte="7bit")
    return mail.as_bytes(), code


def forwarded_copy(raw: bytes, user: str, forward_to: str) -> tuple[bytes, str]:
    """The relayed copy with Gmail's X-Forwarded headers, and its envelope sender (Gmail's +caf_ form)."""
    headers = f"X-Forwarded-To: {forward_to}\r\nX-Forwarded-For: {user} {forward_to}\r\n".encode()
    local, _, domain = user.partition("@")
    envelope = f"{local}+caf_={forward_to.replace('@', '=')}@{domain}"
    return headers + raw, envelope


def already_forwarded_by(raw: bytes, user: str) -> bool:
    """A copy this mailbox already forwarded: stop here so two mailboxes cannot loop forever."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    return f"x-forwarded-for: {user} ".encode() in head
