"""Refuse an oversized request body before anything reads it: 413 on Content-Length, or as it streams."""
from __future__ import annotations

import json
import re
from typing import Callable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest legitimate body is a reply with attachments. Gmail refuses to send more than 25 MiB
# (compose.MAX_MESSAGE_BYTES, counted with the attachments base64-encoded in 76-column lines); the
# same files as one unbroken base64 string in JSON take a little less, so 32 MiB leaves room for
# the reply text's JSON escaping. Anything larger could only end in the 413 of the size check.
ADMIN_MAX_BODY_BYTES = 32 * 1024 * 1024
# Every other route takes no body, or a small one (the dashboard's forms post nothing).
JSON_MAX_BODY_BYTES = 1024 * 1024
UPLOAD_PATH = re.compile(r"^/api/tickets/[^/]+/replies$")


def body_limits(upload_limit: int, allows: Callable[[Request], bool]) -> Callable[[Scope], int]:
    """The limit for a request: the upload limit on the replies route, and there only with valid
    credentials, so a client without the token can never make the daemon read more than 1 MiB."""
    small = min(JSON_MAX_BODY_BYTES, upload_limit)

    def limit_for(scope: Scope) -> int:
        # Only headers and cookies are read here: the body stays where it is.
        if UPLOAD_PATH.match(scope.get("path", "")) and allows(Request(scope)):
            return upload_limit
        return small

    return limit_for


class BodyLimit:
    """ASGI middleware: a declared Content-Length over the limit gets 413 before the app runs (so
    before auth and before any action); a chunked body is counted and cut off with 413 once over.

    Starlette's RequestBodyLimitMiddleware runs the app first and only fails at the first read, so
    a route that never reads its body would still act, then answer 413; hence this one.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]):
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await refuse(send, limit)
            return
        counted = _CountedBody(limit, receive, send)
        await self.app(scope, counted.receive, counted.send)


class _CountedBody:
    """One request's body, counted as the app receives it; past the limit the app sees a disconnect."""

    def __init__(self, limit: int, receive: Receive, send: Send):
        self.limit, self._receive, self._send = limit, receive, send
        self.received, self.cut, self.answered, self.started = 0, False, False, False

    async def receive(self) -> Message:
        if self.cut:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                # The app stops reading as if the client had gone; the client gets the 413.
                self.cut = True
                if not self.started:
                    self.answered = True
                    await refuse(self._send, self.limit)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return              # our 413 is the answer; the app's reaction to the cut is not
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


async def refuse(send: Send, limit: int) -> None:
    """413 with a one-line JSON reason; Connection: close, so the server stops reading the rest."""
    reason = f"request body too large: this route accepts at most {limit} bytes ({limit / 1048576:g} MiB)"
    body = json.dumps({"detail": reason}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    try:
        return int(Headers(scope=scope).get("content-length", ""))
    except ValueError:
        return None          # absent or unreadable: the counting still applies
