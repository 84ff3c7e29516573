"""Another mail provider on 127.0.0.1 (aiosmtpd): mailboxes of one domain, forwarding rules, and a relay.

It plays both sides a helpdesk meets outside Gmail: the provider hosting the external address
(forwarding its mail, or refusing to, as Microsoft 365's outbound policy does) and the SMTP relay
replies leave through (mail for other domains is kept as the recipient's copy).
"""
from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    # aiosmtpd's ready check cannot follow port 0, so pick a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Provider:
    domain: str
    receiver: tuple[str, int]                        # where mail for the helpdesk's domain goes (our receiver)
    forwards: dict[str, str] = field(default_factory=dict)   # mailbox -> forward-to address
    forwarding_allowed: bool = True                  # False: mail is kept, not forwarded outside the domain
    mailboxes: dict[str, list[bytes]] = field(default_factory=dict)
    outside: list[tuple[str, list[str], bytes]] = field(default_factory=list)   # relayed to other domains

    async def handle_RCPT(self, server, session, envelope, address, options):
        local = address.lower().endswith("@" + self.domain)
        if local and address.lower() not in self.mailboxes:
            return f"550 5.1.1 <{address}>: no such mailbox at {self.domain}"
        envelope.rcpt_tos.append(address.lower())
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self._route(envelope.mail_from, rcpt, envelope.content)
        return "250 OK queued"

    def _route(self, mail_from: str, rcpt: str, raw: bytes) -> None:
        if not rcpt.endswith("@" + self.domain):
            self.outside.append((mail_from, [rcpt], raw))
            return
        raw = f"Delivered-To: {rcpt}\r\n".encode() + raw      # as Postfix and most providers mark delivery
        self.mailboxes[rcpt].append(raw)
        target = self.forwards.get(rcpt)
        if target is None:
            return
        if target.endswith("@" + self.domain):
            self._route(mail_from, target, raw)
        elif self.forwarding_allowed:
            with smtplib.SMTP(*self.receiver, timeout=10) as client:    # SRS keeps SPF of the sender intact
                client.sendmail(f"SRS0=x={rcpt.replace('@', '=')}@{self.domain}", [target], raw)


class ProviderServer:
    def __init__(self, provider: Provider):
        self.provider = provider
        self.controller = Controller(provider, hostname="127.0.0.1", port=free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def __enter__(self) -> "ProviderServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def send(self, mail_from: str, to: str, raw: bytes) -> None:
        """A customer's mail reaching the provider's MX."""
        with smtplib.SMTP("127.0.0.1", self.controller.port, timeout=10) as client:
            client.sendmail(mail_from, [to], raw)
