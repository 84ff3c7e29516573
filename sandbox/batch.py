"""Google's batch endpoint: a multipart/mixed of `application/http` parts, each dispatched like a call."""
from __future__ import annotations

import secrets
from email import policy
from email.parser import BytesParser
from http import HTTPStatus

from sandbox.app import App, Request, Response
from sandbox.errors import ApiError, bad_request

MAX_PARTS = 100


def handle(app: App, request: Request) -> Response:
    if request.method != "POST":
        raise ApiError(405, "Method Not Allowed", "methodNotAllowed")
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/mixed"):
        raise bad_request("Batch requests must be multipart/mixed")
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    parts = BytesParser(policy=policy.compat32).parsebytes(head + request.body).get_payload()
    if not isinstance(parts, list) or not parts:
        raise bad_request("Batch request has no parts")
    if len(parts) > MAX_PARTS:
        raise bad_request(f"A batch request cannot contain more than {MAX_PARTS} calls")
    boundary = "batch_" + secrets.token_hex(12)
    chunks = []
    for part in parts:
        inner = _inner_request(part.get_payload(), request.headers.get("authorization"))
        answer = app.handle(inner) if inner else Response(400, b"")
        chunks.append(_response_part(boundary, part.get("Content-ID", ""), answer))
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return Response(200, body, {"Content-Type": f"multipart/mixed; boundary={boundary}"})


def _inner_request(payload, outer_auth: str | None) -> Request | None:
    if not isinstance(payload, str):
        return None
    text = payload.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if outer_auth and "authorization" not in headers:
        headers["authorization"] = outer_auth
    if not (target.startswith("/gmail/v1/")):
        return None
    return Request(method.upper(), target, headers, body.encode("utf-8"))


def _response_part(boundary: str, content_id: str, answer: Response) -> bytes:
    content_id = content_id.strip()
    response_id = f"<response-{content_id[1:]}" if content_id.startswith("<") else f"response-{content_id}"
    reason = HTTPStatus(answer.status).phrase if answer.status in HTTPStatus._value2member_map_ else ""
    lines = [f"--{boundary}", "Content-Type: application/http", f"Content-ID: {response_id}", "",
             f"HTTP/1.1 {answer.status} {reason}"]
    lines += [f"{k}: {v}" for k, v in answer.headers.items()]
    lines += [f"Content-Length: {len(answer.body)}", "", ""]
    return "\r\n".join(lines).encode() + answer.body + b"\r\n"
