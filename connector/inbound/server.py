"""`InboundServer`: an aiosmtpd SMTP server on its own event loop thread, with start() and stop()."""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from aiosmtpd.smtp import SMTP

from connector.collaborators import Collaborators
from connector.inbound.data_spool import prepare_spool_dir
from connector.inbound.handler import InboundHandler
from connector.inbound.intake import Intake
from connector.inbound.session import SessionLimits, Admission, SmtpSession

log = logging.getLogger(__name__)
READY_TIMEOUT = 5.0
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
        return Admission(self._admit)

    def _admit(self, transport: asyncio.BaseTransport) -> SMTP | None:
        peername = transport.get_extra_info("peername")
        peer = str(peername[0]) if peername else ""
        limits = self.limits
        if len(self._sessions) >= limits.max_connections or self._per_peer[peer] >= limits.max_per_peer:
            log.warning("refused a connection from %s: %d sessions open, %d from that address",
                        peer, len(self._sessions), self._per_peer[peer])
            return None
        settings = self.runtime.settings
        smtp = SmtpSession(self._handler, self._forget, self.limits, self.spool_dir,
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
