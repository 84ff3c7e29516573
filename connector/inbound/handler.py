"""The SMTP conversation's hooks: refuse unknown recipients, store before answering 250."""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

from connector.inbound.intake import Intake

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd handler. Blocking store work runs in the loop's executor, never on the loop itself."""

    def __init__(self, intake: Intake, submit: Callable[[int], None]):
        self.intake, self.submit = intake, submit

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        loop = asyncio.get_running_loop()
        try:
            known = await loop.run_in_executor(None, self.intake.is_support_address, address)
        except Exception:  # noqa: BLE001 — a database hiccup is temporary for the sender
            log.exception("could not look up recipient %s", address)
            return "451 4.3.0 temporary failure looking up the recipient, try again later"
        if not known:
            return f"550 5.1.1 <{address}>: no such support address here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        try:
            raw_id = await loop.run_in_executor(None, self.intake.store, envelope.mail_from,
                                                list(envelope.rcpt_tos), raw)
        except Exception:  # noqa: BLE001 — not stored means not accepted: the sender retries later
            log.exception("could not store mail from %s", envelope.mail_from)
            return "451 4.3.0 could not store the message, try again later"
        # Committed: from here the message survives a crash; ticketing happens after the answer.
        self.submit(raw_id)
        return f"250 2.0.0 OK stored as {raw_id}"
