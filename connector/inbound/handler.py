"""The SMTP conversation's hooks: refuse unknown recipients, store before answering 250."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import BinaryIO, Callable

from connector.inbound.data_spool import SPOOL_MEMORY_BYTES
from connector.inbound.envelope import SpooledEnvelope, envelope_text
from connector.inbound.intake import Intake

log = logging.getLogger(__name__)
# Storing holds a message in memory at least once more (its bytes, then what the store makes of
# them); past the spool's memory size only this many are stored at once, so a burst of large
# messages costs a few copies, not one per client.
LARGE_STORES_AT_ONCE = 1


class InboundHandler:
    """aiosmtpd handler. Blocking store work runs in the loop's executor, never on the loop itself."""

    def __init__(self, intake: Intake, submit: Callable[[int], None],
                 large_stores: int = LARGE_STORES_AT_ONCE):
        self.intake, self.submit = intake, submit
        self._large_stores = asyncio.Semaphore(large_stores)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        address = envelope_text(address)       # 8-bit bytes would fail the lookup and the reply
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

    async def handle_DATA(self, server, session, envelope: SpooledEnvelope) -> str:
        mail_from = envelope_text(envelope.mail_from or "")
        rcpt_tos = [envelope_text(rcpt) for rcpt in envelope.rcpt_tos]
        loop = asyncio.get_running_loop()
        limit = self._large_stores if envelope.size > SPOOL_MEMORY_BYTES else contextlib.nullcontext()
        try:
            async with limit:
                raw_id = await loop.run_in_executor(None, self._store, mail_from, rcpt_tos, envelope.spool)
        except Exception:  # noqa: BLE001 — not stored means not accepted: the sender retries later
            log.exception("could not store mail from %s", mail_from)
            return "451 4.3.0 could not store the message, try again later"
        # Committed: from here the message survives a crash; ticketing happens after the answer.
        self.submit(raw_id)
        return f"250 2.0.0 OK stored as {raw_id}"

    def _store(self, mail_from: str, rcpt_tos: list[str], spool: BinaryIO) -> int:
        # In the executor: the one copy of the message as bytes is made here, just before storing.
        spool.seek(0)
        return self.intake.store(mail_from, rcpt_tos, spool.read())
