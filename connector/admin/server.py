"""Runs the admin app under uvicorn in a background thread, with start()/stop() like aiosmtpd's Controller."""
from __future__ import annotations

import socket
import threading
import time

import uvicorn

READY_TIMEOUT = 10.0


class AdminServerError(RuntimeError):
    """The admin server could not start listening."""


class AdminServer:
    """`start()` returns once the socket accepts connections; `port=0` picks a free port (see `.port`)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8080, ready_timeout: float = READY_TIMEOUT):
        self.app, self.host, self.port = app, host, port
        self.ready_timeout = ready_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self) -> None:
        # Binding here, not in uvicorn, makes a taken port fail in the caller's thread with a clear
        # error, and tells us the port the OS picked for port 0 before anything else runs.
        self._socket = self._bind()
        self.port = self._socket.getsockname()[1]
        # log_config=None: the daemon configured logging already; ws="none": no websocket routes here.
        config = uvicorn.Config(self.app, log_config=None, lifespan="off", ws="none", http="h11",
                                access_log=False, timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="admin-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.ready_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise AdminServerError(f"admin server on {self.host}:{self.port} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self.ready_timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and without it
        # a response's body waited for the client's delayed ACK after its headers (about 40 ms).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise AdminServerError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        sock.listen(128)
        sock.set_inheritable(True)
        return sock

    def __enter__(self) -> "AdminServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
