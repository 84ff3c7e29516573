"""Generated support mail for the benchmarks: varied charsets, HTML, attachments, threads, machine mail."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

from connector import demo_mail

FIRST = ["Amélie", "Jonas", "Priya", "Tomás", "Chen", "Fatima", "Olle", "Grace", "Jürgen", "Zoë", "Søren",
         "Aiko", "Dmitri", "Łukasz", "Nnamdi", "María", "Yusuf", "Hélène", "Björn", "Ana"]
LAST = ["Durand", "Becker", "Natarajan", "Ruiz", "Wei", "Zahra", "Svensson", "O'Neill", "Müller", "Kovač",
        "Tanaka", "Ivanov", "Nowak", "Okafor", "García", "Yılmaz", "Lefèvre", "Lindqvist", "Silva"]
DOMAINS = ["example.org", "example.net", "example.com", "example.fr", "example.de", "example.jp"]
# (subject, body, charset) — the charset is what the customer's mail program would have chosen.
REQUESTS = [
    ("Cannot log in since this morning", "Hello,\n\nI cannot log in since this morning; the reset link "
     "expires immediately.\n\nThanks,\n{first}", "us-ascii"),
    ("Facture n° {n} : montant erroné", "Bonjour,\n\nla facture n° {n} indique 129,00 € au lieu de "
     "119,00 €. Pouvez-vous la corriger ?\n\nCordialement,\n{first}", "iso-8859-15"),
    ("Lieferung {n} beschädigt angekommen", "Guten Tag,\n\ndie Lieferung {n} kam beschädigt an. Fotos "
     "anbei. Bitte um Ersatz.\n\nMit freundlichen Grüßen\n{first}", "utf-8"),
    ("注文 {n} の配送について", "お世話になっております。\n\n注文 {n} がまだ届いていません。"
     "ご確認をお願いします。\n\n{first}", "iso-2022-jp"),
    ("Export “quarterly report” stops at 99%", "Hi team,\n\nthe export of the “quarterly report” "
     "stops at 99% — every time.\n\nBest,\n{first}", "windows-1252"),
    ("Zamówienie {n} – zmiana adresu", "Dzień dobry,\n\nproszę o zmianę adresu dostawy zamówienia "
     "{n}.\n\nPozdrawiam,\n{first}", "utf-8"),
]


class SupportMailGenerator:
    """Deterministic by seed: the same seed gives the same bytes (dates are relative to `now`)."""

    def __init__(self, to: str, seed: int = 1, senders: int = 400, now: datetime | None = None):
        self.to, self.rng = to, random.Random(seed)
        self.now = now or datetime.now(timezone.utc)
        self.senders = [self._person(i) for i in range(senders)]
        self.sent: list[bytes] = []
        self.n = 0

    def _person(self, i: int) -> tuple[str, str]:
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        local = f"{first}.{last}".lower().encode("ascii", "ignore").decode().replace("'", "")
        return f"{first} {last}", f"{local}{i}@{DOMAINS[i % len(DOMAINS)]}"

    def generate(self, count: int) -> list[bytes]:
        return [self.next() for _ in range(count)]

    def next(self) -> bytes:
        """One mail: mostly new requests and replies, some HTML, attachments, forwards and machine mail."""
        self.n += 1
        roll = self.rng.random()
        if roll < 0.04:
            raw = self.rng.choice([demo_mail.auto_reply, demo_mail.bounce, demo_mail.newsletter])(self.to, self.n)
        elif roll < 0.25 and self.sent:
            raw = self._reply(self.rng.choice(self.sent[-200:]))
        elif roll < 0.30 and self.sent:
            raw = self._forward(self.rng.choice(self.sent))
        else:
            raw = self._request()
            self.sent.append(raw)
        return raw

    def _headers(self, msg: EmailMessage, sender: tuple[str, str], subject: str) -> None:
        msg["From"] = f"{sender[0]} <{sender[1]}>"
        msg["To"] = self.to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self.now - timedelta(minutes=self.rng.randrange(5000)))
        msg["Message-ID"] = f"<bench.{self.n}.{self.rng.getrandbits(40):x}@mail.{sender[1].split('@')[1]}>"

    def request(self) -> bytes:
        """A new customer request (no reply, no machine mail): what the latency benchmark sends."""
        self.n += 1
        return self._request()

    def _request(self) -> bytes:
        sender = self.rng.choice(self.senders)
        subject, body, charset = self.rng.choice(REQUESTS)
        text = body.format(first=sender[0].split()[0], n=self.n)
        msg = EmailMessage()
        self._headers(msg, sender, subject.format(n=self.n))
        cte = self.rng.choice(["quoted-printable", "base64", "8bit"])
        try:
            text.encode(charset)
        except UnicodeEncodeError:     # a signature the legacy charset cannot spell: the client picks UTF-8
            charset = "utf-8"
        if charset == "iso-2022-jp":
            cte = "7bit"
        msg.set_content(text, charset=charset if charset != "us-ascii" else "utf-8", cte=cte)
        if self.rng.random() < 0.35:
            html = "<html><body>" + "".join(f"<p>{line}</p>" for line in text.split("\n\n")) + "</body></html>"
            msg.add_alternative(html, subtype="html")
        if self.rng.random() < 0.25:
            self._attach(msg)
        return bytes(msg)

    def _attach(self, msg: EmailMessage) -> None:
        size = self.rng.choice([300, 4_000, 40_000, 200_000])
        kind = self.rng.choice([("application", "pdf", "invoice.pdf"), ("image", "png", "screenshot.png"),
                                ("text", "csv", "export.csv"), ("image", "jpeg", "photo_café.jpg")])
        data = self.rng.randbytes(size)
        if kind[0] == "text":
            msg.add_attachment(data.hex()[:size], subtype=kind[1], filename=kind[2])
        else:
            msg.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=kind[2])

    def _reply(self, parent_raw: bytes) -> bytes:
        from email import message_from_bytes
        from email.policy import default

        parent = message_from_bytes(parent_raw, policy=default)
        msg = EmailMessage()
        self._headers(msg, (parent["From"].addresses[0].display_name, parent["From"].addresses[0].addr_spec),
                      f"Re: {parent['Subject']}")
        msg["In-Reply-To"] = parent["Message-ID"]
        msg["References"] = parent["Message-ID"]
        msg.set_content("Any news on this? It still happens.\n\n> (previous message quoted)\n")
        return bytes(msg)

    def _forward(self, original: bytes) -> bytes:
        """A colleague forwarding a customer's mail as an attachment (message/rfc822)."""
        sender = self.rng.choice(self.senders)
        msg = EmailMessage()
        self._headers(msg, sender, "Fwd: customer request")
        msg.set_content("Forwarding this one, can you take it?\n")
        msg.add_attachment(original, maintype="message", subtype="rfc822")
        return bytes(msg)
