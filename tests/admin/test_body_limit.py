"""Oversized request bodies are refused with 413 before the admin API reads them, token or not."""
from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from dataclasses import dataclass

import pytest
from sqlmodel import select

from connector.admin.app import create_app
from connector.admin.body_limit import ADMIN_MAX_BODY_BYTES, JSON_MAX_BODY_BYTES
from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.models import Inbox
from connector.store.outbound_models import OutgoingMail

from .conftest import ADMIN_TOKEN, FakeDaemon

MiB = 1024 * 1024


@dataclass(frozen=True)
class Uploads(Settings):
    """Settings with ADMIN_MAX_BODY_BYTES at the default the replies route needs."""
    admin_max_body_bytes: int = ADMIN_MAX_BODY_BYTES


@dataclass(frozen=True)
class SmallUploads(Settings):
    """Settings with ADMIN_MAX_BODY_BYTES small enough to test quickly."""
    admin_max_body_bytes: int = 64 * 1024


def with_settings(runtime: Runtime, kind: type[Settings]) -> Runtime:
    settings = kind(data_dir=runtime.settings.data_dir, database_url=runtime.settings.database_url,
                    admin_token=ADMIN_TOKEN)
    return Runtime(settings=settings, engine=runtime.engine)


def raw_post(port: int, path: str, head: dict[str, str], chunks: list[bytes] = ()) -> http.client.HTTPResponse:
    """A POST written by hand, so a body can be announced and never sent, or streamed chunk by chunk."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
             *(f"{name}: {value}" for name, value in head.items())]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for chunk in chunks:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass                        # the server answered and hung up mid-body: read its answer
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            response.body = response.read()
        finally:
            response.close()
    return response


def a_reply_of(size: int) -> bytes:
    attachment = {"filename": "big.bin", "content_base64": base64.b64encode(b"x" * size).decode()}
    return json.dumps({"body": "see attached", "attachments": [attachment]}).encode()


def queued(runtime) -> list[OutgoingMail]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(OutgoingMail)))


def first_ticket(client) -> int:
    return client.get("/tickets").json()[0]["id"]


def test_a_200_mb_announcement_without_a_token_is_refused_at_once(runtime, serve):
    client = serve(runtime, token=None)
    started = time.monotonic()

    # The 200 MB are never sent: a server that waited for them would time out here instead.
    response = raw_post(int(client.base.rsplit(":", 1)[1]), "/api/tickets/1/replies",
                        {"Content-Length": str(200 * MiB)})

    assert response.status == 413 and time.monotonic() - started < 2
    assert response.getheader("Connection") == "close"
    detail = json.loads(response.body)["detail"]
    assert "\n" not in detail and str(JSON_MAX_BODY_BYTES) in detail
    assert queued(runtime) == []


def test_by_default_the_largest_reply_gmail_would_send_fits():
    # A reply with 25 MB of attachments was accepted before bodies were limited; it still must be.
    limit = getattr(Settings(), "admin_max_body_bytes", ADMIN_MAX_BODY_BYTES)
    assert limit >= ADMIN_MAX_BODY_BYTES, (
        f"Settings.admin_max_body_bytes defaults to {limit}: replies with attachments over "
        f"{limit * 3 // 4} bytes would be refused; its default should be {ADMIN_MAX_BODY_BYTES}")


def test_a_token_raises_the_limit_on_the_replies_route_only(runtime, serve):
    client = serve(with_settings(runtime, Uploads))
    port = int(client.base.rsplit(":", 1)[1])
    head = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Length": str(ADMIN_MAX_BODY_BYTES + 1)}
    assert raw_post(port, f"/api/tickets/{first_ticket(client)}/replies", head).status == 413

    # 2 MiB of attachment is over the 1 MiB that other routes and anonymous clients get, and fine here.
    body, ticket = a_reply_of(2 * MiB), first_ticket(client)
    assert raw_post(port, f"/api/tickets/{ticket}/replies", {"Content-Length": str(len(body))}).status == 413
    response = client.post(f"/api/tickets/{ticket}/replies", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def test_a_route_that_reads_no_body_does_not_act_before_the_413(runtime, serve):
    client = serve(runtime)
    head = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Length": str(JSON_MAX_BODY_BYTES + 1)}

    response = raw_post(int(client.base.rsplit(":", 1)[1]), "/inboxes/help@example.com/pause", head)

    assert response.status == 413
    with session_scope(runtime.engine) as session:
        assert session.exec(select(Inbox.state).where(Inbox.address == "help@example.com")).one() == "active"


@pytest.mark.parametrize("token", [None, ADMIN_TOKEN], ids=["anonymous", "with-token"])
def test_a_chunked_body_is_cut_off_once_past_the_limit(runtime, serve, token):
    client = serve(with_settings(runtime, SmallUploads))
    head = {"Transfer-Encoding": "chunked"} | ({"Authorization": f"Bearer {token}"} if token else {})
    # No Content-Length: only counting finds out. 16 KiB at a time, five times: one chunk past the limit.
    body = a_reply_of(96 * 1024)
    chunks = [body[at:at + 16 * 1024] for at in range(0, 5 * 16 * 1024, 16 * 1024)]

    response = raw_post(int(client.base.rsplit(":", 1)[1]), f"/api/tickets/{first_ticket(client)}/replies",
                        head, chunks)

    assert response.status == 413, response.body
    assert str(64 * 1024) in json.loads(response.body)["detail"]
    assert queued(runtime) == []


def test_a_chunked_body_under_the_limit_goes_through(runtime, serve):
    client = serve(runtime)
    body = json.dumps({"body": "streamed, but small"}).encode()
    head = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Transfer-Encoding": "chunked"}

    response = raw_post(int(client.base.rsplit(":", 1)[1]), f"/api/tickets/{first_ticket(client)}/replies",
                        head, [body[:10], body[10:], b""])

    assert response.status == 201, response.body


def test_the_schema_documents_the_413_where_a_body_is_accepted():
    schema = create_app(Runtime(settings=Settings(), engine=None), FakeDaemon()).openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], f"{method.upper()} {path}"
