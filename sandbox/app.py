"""Transport-free request handling: every HTTP request (and every batch part) goes through `App.handle`."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email import policy
from urllib.parse import parse_qs, urlsplit

from sandbox import partial, routes
from sandbox.call import Call
from sandbox.core import Sandbox
from sandbox.errors import ApiError, bad_request, delegation_denied, insufficient_scope, precondition
from sandbox.oauth import GMAIL

log = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    target: str                                   # path plus query string
    headers: dict[str, str] = field(default_factory=dict)   # lower-cased names
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, indent=2).encode() + b"\n"
    return Response(status, body, {"Content-Type": "application/json; charset=UTF-8", **(headers or {})})


def error_response(error: ApiError) -> Response:
    return json_response(error.code, error.body(), error.headers)


class App:
    def __init__(self, core: Sandbox) -> None:
        self.core = core
        self.observers: list = []          # callables(route_name, Response): schema tests record bodies

    def handle(self, request: Request) -> Response:
        from sandbox import batch, consent, control   # leaf modules that need App's types
        path = request.path
        try:
            if path.startswith("/gmail/v1/") or path.startswith("/upload/gmail/v1/"):
                return self._gmail(request)
            if path == "/batch/gmail/v1" or path == "/batch":
                return batch.handle(self, request)
            if path.startswith("/_sandbox/"):
                return control.handle(self.core, request)
            return consent.handle(self.core, request)
        except ApiError as exc:
            return error_response(exc)

    def _gmail(self, request: Request) -> Response:
        route, args, known = routes.match(request.method, request.path)
        if route is None:
            raise ApiError(405 if known else 404, "Method Not Allowed" if known else "Not Found",
                           "methodNotAllowed" if known else "notFound")
        try:
            call = self._authorize(request, route, args)
            mask = partial.requested(call.param("fields"), route.name)
            delay, fault = self.core.faults.check(route.name, call.box.address)
            if delay:
                time.sleep(delay)
            if fault:
                raise fault
            with self.core.lock:
                self.core.quota.charge(call.box.address, route.name)
                result = route.handler(call)
            # The one place partial responses are cut; errors below never reach it.
            response = Response(204) if result is None else json_response(200, partial.apply(result, mask))
        except ApiError as exc:
            response = error_response(exc)
        for observe in self.observers:
            observe(route.name, response)
        return response

    def _authorize(self, request: Request, route: routes.Route, args: dict[str, str]) -> Call:
        grant = self.core.oauth.authenticate(request.headers.get("authorization"))
        if grant.address is None:
            raise precondition()        # a service account calling Gmail as itself
        user_id = args.pop("userId")
        if user_id != "me" and user_id.lower() != grant.address:
            raise delegation_denied(user_id)
        fitting = grant.scopes & route.scopes
        if not fitting:
            raise insufficient_scope()
        box = self.core.mailbox(grant.address)
        call = Call(self.core, box, grant, args, request.query, request.body,
                    metadata_only=fitting == {GMAIL + "metadata"})
        if request.path.startswith("/upload/"):
            self._attach_upload(call, request)
        return call

    def _attach_upload(self, call: Call, request: Request) -> None:
        kind = (call.param("uploadType") or "media").lower()
        if kind == "media":
            call.media, call.body_bytes = request.body, b"{}"     # no metadata travels with a bare medium
            return
        if kind != "multipart":
            raise bad_request(f"Unsupported uploadType: {kind}")
        head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
        parts = BytesParser(policy=policy.compat32).parsebytes(head + request.body).get_payload()
        if not isinstance(parts, list) or len(parts) != 2:
            raise bad_request("Multipart upload needs a metadata part and a media part")
        call.body_bytes = parts[0].get_payload(decode=True) or b"{}"
        media = parts[1].get_payload(decode=not parts[1].is_multipart())
        # compat32 parses a message/rfc822 part into a message; re-serialise it then.
        call.media = media[0].as_bytes() if isinstance(media, list) else (media or b"")
