"""Realistic customer mails as raw bytes, for seeding a sandbox mailbox in tests and the demo."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timedelta, timezone

KINDS = ("question", "attachment", "reply", "auto_reply", "bounce")


def _base(sender: str, to: str, subject: str, when: datetime, msgid: str | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(when)
    mail["Message-ID"] = msgid or make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or "example.com")
    return mail


def sample_mail(kind: str = "question", to: str = "support@masociete.com",
                sender: str = "Claire Dubois <claire.dubois@example.fr>", when: datetime | None = None,
                in_reply_to: str = "<order-4821@example.fr>") -> bytes:
    """One realistic inbound support mail of the given kind (see KINDS) as raw RFC 5322 bytes."""
    when = when or datetime.now(timezone.utc) - timedelta(minutes=5)
    if kind == "question":
        mail = _base(sender, to, "Commande 4821 : colis jamais reçu", when, "<order-4821@example.fr>")
        mail.set_content("Bonjour,\n\nJ'ai commandé le 3 mars (commande 4821) et je n'ai toujours rien reçu.\n"
                         "Pouvez-vous me dire où en est la livraison ?\n\nMerci,\nClaire Dubois\n")
    elif kind == "attachment":
        mail = _base(sender, to, "Facture illisible", when)
        mail.set_content("Bonjour,\n\nLa facture jointe est illisible, pouvez-vous la renvoyer ?\n\nClaire\n")
        mail.add_attachment(b"%PDF-1.4\n% sandbox sample invoice\n%%EOF\n", maintype="application",
                            subtype="pdf", filename="facture-4821.pdf")
    elif kind == "reply":
        mail = _base(sender, to, "Re: Commande 4821 : colis jamais reçu", when)
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
        mail.set_content("Merci pour votre retour, le numéro de suivi ne fonctionne pas.\n\n"
                         f"> Le {when:%d/%m/%Y}, Support a écrit :\n> Votre colis est en route.\n")
    elif kind == "auto_reply":
        mail = _base(sender, to, "Réponse automatique : absente jusqu'au 12", when)
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Autoreply"] = "yes"
        mail.set_content("Je suis absente jusqu'au 12 et n'ai pas accès à mes messages.\n")
    elif kind == "bounce":
        return _bounce(to, when)
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return mail.as_bytes()


def _bounce(to: str, when: datetime) -> bytes:
    # Written out by hand: the email package cannot serialise a message/delivery-status part it built.
    boundary = "000000000000bounce" + f"{int(when.timestamp()):x}"
    return (f"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\nTo: {to}\r\n"
            f"Subject: Delivery Status Notification (Failure)\r\nDate: {format_datetime(when)}\r\n"
            f"Message-ID: {make_msgid(domain='mx.google.com')}\r\nAuto-Submitted: auto-replied\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
            f'boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
            "Your message wasn't delivered to nobody@example.invalid because the domain couldn't be found.\r\n\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; googlemail.com\r\n\r\nFinal-Recipient: rfc822; nobody@example.invalid\r\n"
            f"Action: failed\r\nStatus: 5.1.2\r\n\r\n--{boundary}--\r\n").encode()


def seed_mailbox(core, address: str) -> list[str]:
    """Deliver one of each sample kind (the reply threads onto the question); returns Gmail ids."""
    return [core.deliver(address, sample_mail(kind, to=address)) for kind in KINDS]
