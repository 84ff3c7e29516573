"""One SMTP session: aiosmtpd's protocol with deadlines a slow client cannot stretch, and the connection cap."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aiosmtpd.smtp import SMTP

from connector.inbound.data_spool import SpooledData

log = logging.getLogger(__name__)
# Our own work on one command (a recipient lookup, storing a message): shorter than the 10 minutes
# a client waits for the answer to the final dot (RFC 5321 4.5.3.2.6), so we give up first.
WORK_SECONDS = 300.0
# How long a timed-out client that reads nothing may keep its socket while the 421 waits to be sent.
HANG_UP_GRACE_SECONDS = 5.0
# Per connection. A relay may deliver many messages on one connection, so the transaction commands
# are generous; the others can only stretch an idle session, so a client gets a few of each.
CALL_LIMITS = {"MAIL": 1000, "RCPT": 5000, "DATA": 1000, "RSET": 1000, "*": 10}
# Blank lines, bad syntax and overlong lines are answered 50x but count against no command's
# budget: without this a client sending an empty line every 29 s would be kept for ever.
SYNTAX_ERROR_LIMIT = 20
TOO_MANY_CONNECTIONS = b"421 4.7.0 too many connections, try again later\r\n"


@dataclass(frozen=True)
class SessionLimits:
    """How long a client may keep us waiting, and how many clients may be connected at once."""
    data_idle_seconds: float = 60.0     # silence that ends DATA; data flowing never does
    command_seconds: float = 30.0       # to send a whole command line once we are ready for it
    max_connections: int = 100
    max_per_peer: int = 20              # per client IP address

    def __post_init__(self) -> None:
        # aiosmtpd reads a zero timeout as "use the default": refuse it rather than mean 300 s.
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"SMTP session limit {name} must be more than 0, not {value!r}")

    @classmethod
    def from_settings(cls, settings, **given) -> "SessionLimits":
        """`given` (not None) first, then the settings, then the defaults (for partial test settings)."""
        setting_names = {"data_idle_seconds": "smtp_data_idle_seconds",
                         "command_seconds": "smtp_command_timeout_seconds",
                         "max_connections": "smtp_max_connections",
                         "max_per_peer": "smtp_max_connections_per_peer"}
        return cls(**{name: given[name] if given.get(name) is not None
                      else getattr(settings, setting, getattr(cls, name))
                      for name, setting in setting_names.items()})


class SmtpSession(SpooledData, SMTP):
    """aiosmtpd's protocol with deadlines a slow client cannot stretch, and DATA spooled to a file."""

    def __init__(self, handler, on_closed, limits: SessionLimits, spool_dir: Path, **options):
        super().__init__(handler, timeout=WORK_SECONDS, command_call_limit=CALL_LIMITS, **options)
        self._on_closed, self._command_seconds = on_closed, limits.command_seconds
        self._spool_dir, self._data_idle_seconds = spool_dir, limits.data_idle_seconds
        self._syntax_errors = 0

    def connection_lost(self, error) -> None:
        try:
            super().connection_lost(error)
        finally:
            self._on_closed(self)

    async def push(self, status) -> None:
        # We are ready for the next line once our answer is written: from then on the client has
        # command_seconds to send it whole, however its bytes trickle. aiosmtpd alone re-arms its
        # timer only when a complete valid command arrives, so a 1 byte/s drip is never cut.
        self._reset_timeout(self._command_seconds)
        await super().push(status)
        if (status[:2] if isinstance(status, bytes) else status[:2].encode()) == b"50":
            self._syntax_errors += 1
            if self._syntax_errors >= SYNTAX_ERROR_LIMIT:
                self._hang_up("421 4.7.0 too many errors", "made too many errors")

    def _timeout_cb(self) -> None:
        if not self._data_still_flowing():
            self._hang_up(f"421 4.4.2 {self.hostname} Error: timeout exceeded", "timed out")

    def _hang_up(self, reply: str, why: str) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        log.info("%r %s, closing the connection", self.session.peer, why)
        transport.write(reply.encode() + b"\r\n")
        transport.close()           # sends the reply first, unless the client never reads it
        self.loop.call_later(HANG_UP_GRACE_SECONDS, transport.abort)


class Admission(asyncio.Protocol):
    """Every connection's first protocol: hands the connection to a session, or answers 421 and closes.

    The peer's address is known only here, not in the protocol factory. A refused connection never
    builds an aiosmtpd session, so it costs no handler task and trips none of its asserts.
    """

    def __init__(self, admit: Callable[[asyncio.BaseTransport], SMTP | None]):
        self._admit = admit

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        session = self._admit(transport)
        if session is None:
            transport.write(TOO_MANY_CONNECTIONS)
            transport.close()
            return
        transport.set_protocol(session)     # asyncio's documented hand-over to another protocol
        session.connection_made(transport)
