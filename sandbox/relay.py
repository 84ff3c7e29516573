"""Mail leaving the sandbox: an outbox of messages handed to a local mailbox or an SMTP route."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sandbox.mime import b64url

log = logging.getLogger(__name__)


@dataclass
class Outgoing:
    kind: str                 # "sent" | "forwarded" | "confirmation"
    mail_from: str
    to: str
    raw: bytes
    record: dict = field(default_factory=dict)

    def as_record(self, status: str) -> dict:
        return {**self.record, "kind": self.kind, "from": self.mail_from, "to": self.to, "raw": b64url(self.raw),
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "status": status}


def smtp_send(host: str, port: int, mail_from: str, rcpt: str, raw: bytes, timeout: float = 10.0) -> None:
    with smtplib.SMTP(host, port, timeout=timeout) as client:
        client.sendmail(mail_from, [rcpt], raw)


def route_for(address: str, routes: dict[str, tuple[str, int]]) -> tuple[str, int] | None:
    """The SMTP route of the address's domain or of its closest parent domain."""
    domain = address.rpartition("@")[2].lower()
    while domain:
        if domain in routes:
            return routes[domain]
        domain = domain.partition(".")[2]
    return None


def relay(item: Outgoing, routes: dict[str, tuple[str, int]]) -> str:
    """Hand one message to its SMTP route; the status string is what /_sandbox shows."""
    route = route_for(item.to, routes)
    if route is None:
        return "no-route"
    try:
        smtp_send(route[0], route[1], item.mail_from, item.to, item.raw)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("relay to %s via %s:%s failed: %s", item.to, route[0], route[1], exc)
        return f"failed: {exc.__class__.__name__}"
    return "relayed"
