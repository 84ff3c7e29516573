"""The loopback listener Google redirects to after consent, and the paste-back path beside it.

Google sends the browser to http://127.0.0.1:PORT/?code=...; when the browser runs on another
machine that address never reaches us, so the person can paste it into the prompt instead.
The first answer carrying this sign-in's `state` completes it; any page the person visits can
send the browser to the loopback port too, so answers with another state are ignored, not fatal.
"""
from __future__ import annotations

import hmac
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from oauth.flow import ConsentError

CONSENT_TIMEOUT_SECONDS = 600
_DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>gmail-connector</title>"
              b"<p>The sign-in reached gmail-connector. You can close this window and return to the terminal.</p>")
_IGNORED_PAGE = (b"<!doctype html><meta charset=utf-8><title>gmail-connector</title>"
                 b"<p>This answer does not belong to the sign-in gmail-connector is waiting for (its state differs), "
                 b"so it was ignored. Finish the sign-in from the address the command printed.</p>")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802  (the name http.server calls)
        if "code=" not in self.path and "error=" not in self.path:
            self.send_error(404)            # favicon and other browser side-requests
            return
        if not self.server.belongs(self.path):
            self._page(400, _IGNORED_PAGE)
            return
        self.server.arrived.put(f"http://{self.headers.get('Host') or self.server.authority}{self.path}")
        self._page(200, _DONE_PAGE)

    def _page(self, status: int, page: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: object) -> None:
        # The default logs the request line to stderr, and that line carries the authorization code.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False         # another program on the port must make us fail, not share it

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, _Handler)
        self.arrived: queue.Queue[str] = queue.Queue()
        self.authority = f"{address[0]}:{self.server_address[1]}"
        self.state: str | None = None       # the sign-in's, once wait() is told it

    def belongs(self, url: str) -> bool:
        """Whether a redirect (URL or path) answers this sign-in; anything goes until the state is known."""
        if self.state is None:
            return True
        given = parse_qs(urlsplit(url.strip()).query).get("state", [""])[-1]
        return hmac.compare_digest(given.encode(), self.state.encode())


class LoopbackListener:
    """Listens on 127.0.0.1 (a free port unless one is given) for the redirect after consent."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        try:
            self._server = _Server((host, port))
        except OSError as exc:
            raise ConsentError(f"cannot listen on {host}:{port} ({exc.strerror}): pick another --port "
                               "or leave it out to use a free one") from None
        self.redirect_uri = f"http://{self._server.authority}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="oauth-loopback", daemon=True)

    def __enter__(self) -> "LoopbackListener":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self, timeout: float = CONSENT_TIMEOUT_SECONDS,
             prompt: Callable[[str], str] | None = None, state: str | None = None) -> str:
        """The redirect URL: from the browser's visit, or pasted into `prompt` if one is given.

        With the flow's `state`, answers carrying another state are ignored and the wait goes on;
        without it the first answer wins, as before.
        """
        self._server.state = state
        if prompt is not None:
            threading.Thread(target=_read_pasted, args=(prompt, self._server),
                             name="oauth-paste", daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                url = self._server.arrived.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise ConsentError(f"no answer from Google's consent page within {int(timeout)} seconds; "
                                   "run the command again") from None
            if self._server.belongs(url):   # arrivals from before the state was known are checked here
                return url


def _read_pasted(prompt: Callable[[str], str], server: _Server) -> None:
    # A daemon thread: when the loopback wins it stays blocked on stdin until the command exits.
    question = "Paste the address your browser was sent to after Allow (http://127.0.0.1:...): "
    while True:
        try:
            line = prompt(question).strip()
        except (EOFError, OSError, KeyboardInterrupt):
            return                       # no terminal: the loopback may still complete the sign-in
        if ("code=" in line or "error=" in line) and not server.belongs(line):
            question = ("That address belongs to another sign-in (its state differs). Paste the address "
                        "this sign-in's browser window was sent to: ")
        elif "code=" in line or "error=" in line:
            server.arrived.put(line)
            return
