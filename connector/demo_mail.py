"""Realistic sample support mail for the demo and the benchmarks (generated, deterministic by seed)."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

CUSTOMERS = [
    ("Amélie Durand", "amelie.durand@example.org"), ("Jonas Becker", "jonas.becker@example.net"),
    ("Priya Natarajan", "priya@example.com"), ("Tomás Ruiz", "truiz@example.org"),
    ("Chen Wei", "chen.wei@example.net"), ("Fatima Zahra", "fzahra@example.com"),
    ("Olle Svensson", "olle@example.se"), ("Grace O'Neill", "grace.oneill@example.ie"),
]
TOPICS = [
    ("Cannot log in since this morning", "Hello,\n\nsince this morning I cannot log in: the page says my "
     "password is wrong, but I reset it twice.\n\nCould you have a look?\n\nThanks,\n{name}"),
    ("Invoice 2026-{n:04d} shows the wrong VAT number", "Hi,\n\nour invoice 2026-{n:04d} shows an old VAT "
     "number. Could you send a corrected copy?\n\nBest regards,\n{name}"),
    ("Question about the annual plan", "Good afternoon,\n\nif we switch to the annual plan in the middle of "
     "the month, is the current month refunded?\n\n{name}"),
    ("Export to CSV fails with large reports", "Hello support,\n\nexporting a report of more than 10,000 rows "
     "to CSV stops at 99%. Screenshot attached.\n\nKind regards,\n{name}"),
    ("Délai de livraison de la commande n° {n}", "Bonjour,\n\nj'ai commandé il y a dix jours et je n'ai "
     "toujours rien reçu. Pouvez-vous me dire où en est la commande n° {n} ?\n\nMerci d'avance,\n{name}"),
]


def customer_mail(to: str, seed: int, *, attachment: bool | None = None) -> bytes:
    """One customer request to `to`; every fourth carries a small PNG attachment."""
    rng = random.Random(seed)
    name, email = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
    subject, body = TOPICS[rng.randrange(len(TOPICS))]
    msg = _base(name, email, to, subject.format(n=seed), seed)
    msg.set_content(body.format(name=name.split()[0], n=seed))
    if attachment if attachment is not None else seed % 4 == 3:
        msg.add_attachment(_tiny_png(seed), maintype="image", subtype="png", filename=f"screenshot-{seed}.png")
    return bytes(msg)


def reply_to(original: bytes, seed: int) -> bytes:
    """The same customer writing again in the same conversation (In-Reply-To and References set)."""
    from email import message_from_bytes
    from email.policy import default

    parent = message_from_bytes(original, policy=default)
    msg = _base("", str(parent["From"]), str(parent["To"]), f"Re: {parent['Subject']}", seed)
    del msg["From"]
    msg["From"] = str(parent["From"])
    msg["In-Reply-To"] = str(parent["Message-ID"])
    msg["References"] = str(parent["Message-ID"])
    msg.set_content("One more detail: it happens in Firefox and in Chrome.\n\n> " + "\n> ".join(
        parent.get_body(("plain",)).get_content().splitlines()[:3]))
    return bytes(msg)


def auto_reply(to: str, seed: int) -> bytes:
    msg = _base("Jonas Becker", "jonas.becker@example.net", to, "Automatic reply: your request", seed)
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("I am out of the office until Monday and will answer your message when I am back.")
    return bytes(msg)


def bounce(to: str, seed: int) -> bytes:
    """A standard delivery-status report (RFC 3464) from a mailer daemon."""
    head = _base("Mail Delivery Subsystem", "mailer-daemon@example.net", to,
                 "Delivery Status Notification (Failure)", seed)
    headers = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    boundary = f"dsn-{seed}"
    return (f"{headers}MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
            "Your message to nobody@example.net could not be delivered: the address does not exist.\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; nobody@example.net\r\n"
            f"Action: failed\r\nStatus: 5.1.1\r\n--{boundary}--\r\n").encode()


def newsletter(to: str, seed: int) -> bytes:
    msg = _base("Example Weekly", "news@example.com", to, "This week at Example: 5 tips", seed)
    msg["List-Id"] = "<weekly.example.com>"
    msg["List-Unsubscribe"] = "<mailto:unsubscribe@example.com>"
    msg["Precedence"] = "bulk"
    msg.set_content("Five tips to get more from your account this week.")
    return bytes(msg)


def demo_inbox_mail(to: str, offset: int = 0) -> list[bytes]:
    """What the demo seeds: requests, a reply in a thread, an auto-reply, a bounce, a newsletter.

    `offset` gives each inbox its own customers and subjects, so that two demo inboxes do not look
    like duplicated tickets."""
    first = customer_mail(to, offset + 1)
    return [first, customer_mail(to, offset + 2), customer_mail(to, offset + 3), reply_to(first, offset + 4),
            auto_reply(to, offset + 5), bounce(to, offset + 6), newsletter(to, offset + 7)]


def _base(name: str, email: str, to: str, subject: str, seed: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{name} <{email}>" if name else email
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(idstring=f"demo{seed}", domain="mail.example.net")
    return msg


def _tiny_png(seed: int) -> bytes:
    # A valid 1x1 PNG header with a seed-dependent trailer: different content, same tiny size.
    return (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
            b"\x15\xc4\x89" + seed.to_bytes(4, "big"))
