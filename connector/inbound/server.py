"""`InboundServer`: an aiosmtpd SMTP server on its own event loop thread, with start() and stop()."""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from aiosmtpd.smtp import SMTP

from connector.collaborators import Collaborators
from connector.inbound.data_spool import SpooledData, prepare_spool_dir
from connector.inbound.handler import InboundHandler
from connector.inbound.intake import Intake

log = logging.getLogger(__name__)
READY_TIMEOUT = 5.0
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


class _Session(SpooledData, SMTP):
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


class _Admission(asyncio.Protocol):
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


class InboundServer:
    """Receives mail for the support addresses; `port=0` binds a free port (read `.port` after start)."""

    def __init__(self, runtime: Collaborators, host: str | None = None, port: int | None = None, *,
                 data_idle_seconds: float | None = None, command_seconds: float | None = None,
                 max_connections: int | None = None, max_per_peer: int | None = None):
        bind = runtime.settings.smtp_inbound_bind
        self.runtime, self.host = runtime, host or bind[0]
        self.port = bind[1] if port is None else port
        self.limits = SessionLimits.from_settings(
            runtime.settings, data_idle_seconds=data_idle_seconds, command_seconds=command_seconds,
            max_connections=max_connections, max_per_peer=max_per_peer)
        self.spool_dir = runtime.settings.data_dir / "spool"
        self.intake = Intake(runtime)
        # One worker: tickets are made in arrival order and SQLite sees one writer from us.
        self._worker: ThreadPoolExecutor | None = None
        self._handler: InboundHandler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._sessions: dict[SMTP, str] = {}        # open session -> peer address
        self._per_peer: Counter[str] = Counter()

    def start(self) -> "InboundServer":
        prepare_spool_dir(self.spool_dir)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbound-process")
        self._handler = InboundHandler(self.intake, self.submit)
        self._loop = asyncio.new_event_loop()
        ready, failure = threading.Event(), []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), daemon=True,
                                        name=f"smtp-inbound:{self.port}")
        self._thread.start()
        if not ready.wait(READY_TIMEOUT) or failure:
            self.stop()
            raise OSError(f"SMTP receiver could not listen on {self.host}:{self.port}: "
                          f"{failure[0] if failure else 'timed out'}")
        for raw_id in self.intake.pending():      # stored by an earlier run, never ticketed
            self.submit(raw_id)
        log.info("SMTP receiver listening on %s:%s", self.host, self.port)
        return self

    def _serve(self, ready: threading.Event, failure: list) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(loop.create_server(self._protocol, self.host, self.port))
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    def _protocol(self) -> asyncio.Protocol:
        return _Admission(self._admit)

    def _admit(self, transport: asyncio.BaseTransport) -> SMTP | None:
        peername = transport.get_extra_info("peername")
        peer = str(peername[0]) if peername else ""
        limits = self.limits
        if len(self._sessions) >= limits.max_connections or self._per_peer[peer] >= limits.max_per_peer:
            log.warning("refused a connection from %s: %d sessions open, %d from that address",
                        peer, len(self._sessions), self._per_peer[peer])
            return None
        settings = self.runtime.settings
        smtp = _Session(self._handler, self._forget, self.limits, self.spool_dir,
                        data_size_limit=settings.inbound_max_bytes, enable_SMTPUTF8=True, decode_data=False,
                        ident="gmail-connector", hostname=settings.inbound_domain or "localhost")
        # Kept only while connected: stop() closes these; connection_lost forgets them.
        self._sessions[smtp] = peer
        self._per_peer[peer] += 1
        return smtp

    def _forget(self, smtp: SMTP) -> None:
        peer = self._sessions.pop(smtp, None)
        if peer is not None:
            self._per_peer[peer] -= 1
            if self._per_peer[peer] <= 0:
                del self._per_peer[peer]

    @property
    def open_sessions(self) -> int:
        return len(self._sessions)

    def submit(self, raw_id: int) -> None:
        if self._worker is not None:
            self._worker.submit(self.intake.process, raw_id).add_done_callback(partial(_report_failure, raw_id))

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until every message received so far has been processed (tests, shutdown)."""
        if self._worker is not None:
            self._worker.submit(lambda: None).result(timeout)

    def stop(self) -> None:
        """Stop listening, close open sessions, and finish the processing already queued."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(READY_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(READY_TIMEOUT)
        if loop is not None and not loop.is_running():
            loop.close()
        if self._worker is not None:
            self._worker.shutdown(wait=True)
        self._loop = self._thread = self._server = self._worker = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for smtp in list(self._sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_default_executor()

    def __enter__(self) -> "InboundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _report_failure(raw_id: int, done: Future) -> None:
    # Nobody reads the worker's futures: without this an exception (the database down even for the
    # hold-back) would vanish, and the mail would wait silently for retry_pending_smtp.
    if not done.cancelled() and done.exception() is not None:
        log.error("smtp raw mail %s left pending: processing failed; retry_pending_smtp takes it up again",
                  raw_id, exc_info=done.exception())
