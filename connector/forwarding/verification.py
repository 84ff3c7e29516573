"""The verification test mail: a unique token sent to the external address, recognised on arrival."""
from __future__ import annotations

import re
import secrets
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

HEADER = "X-Helpdesk-Forwarding-Test"
_TOKEN = re.compile(r"\[fwd-test:([0-9a-f]{32})\]")
_TOKEN_ALONE = re.compile(r"^\s*([0-9a-f]{32})\s*$")


def new_token() -> str:
    return secrets.token_hex(16)


def verification_mail(external: str, sender: str, token: str, now: datetime) -> bytes:
    """The mail `forwarding verify` sends to the external address."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = external
    mail["Subject"] = f"Helpdesk forwarding test [fwd-test:{token}]"
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    mail[HEADER] = token
    # Vacation responders must not answer a machine test.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(f"This message checks that mail to {external} is forwarded to the helpdesk.\n"
                     "It is handled automatically and never becomes a ticket.\n")
    return mail.as_bytes()


def token_in(subject: str, header_value: str | None) -> str | None:
    found = _TOKEN_ALONE.match(header_value or "") or _TOKEN.search(subject)
    return found.group(1) if found else None


def count_hops(headers: tuple[tuple[str, str], ...], received_at: str) -> int:
    """How many forwards a message crossed: Gmail adds X-Forwarded-For/-To per forward; without
    them, every Delivered-To other than our own address is a mailbox it passed through."""
    names = [name.lower() for name, _ in headers]
    marked = max(names.count("x-forwarded-for"), names.count("x-forwarded-to"))
    delivered = {value.strip().lower() for name, value in headers if name.lower() == "delivered-to"}
    return max(marked, len(delivered - {received_at.lower()}))
