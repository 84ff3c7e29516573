"""The sandbox tests' world: its mailbox addresses and the mail they receive."""
from __future__ import annotations

import base64
from email.message import EmailMessage

SUPPORT = "support@masociete.com"
ALICE = "alice@gmail.com"
HELPDESK_DOMAIN = "helpdesk.example.com"


def mail(subject="Printer broken", sender="bob@example.com", to=SUPPORT, body="It jams.", msgid=None,
         in_reply_to=None, **headers) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    if msgid:
        msg["Message-ID"] = msgid
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()
