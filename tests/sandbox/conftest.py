"""Fixtures: a fresh sandbox per test, real Google clients against it, and a local SMTP sink."""
from __future__ import annotations

import json
import socket

import pytest
from aiosmtpd.controller import Controller
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from sandbox.server import SandboxServer
from sandbox_world import ALICE, HELPDESK_DOMAIN, SUPPORT


class SmtpSink:
    """aiosmtpd on 127.0.0.1 keeping every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    # aiosmtpd 1.4's ready-check cannot follow port 0, so pick a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture
def sandbox(tmp_path, smtp_sink):
    routes = {HELPDESK_DOMAIN: ("127.0.0.1", smtp_sink.port)}
    with SandboxServer(mailboxes=[SUPPORT, ALICE], state_dir=tmp_path, quota_tier="legacy",
                       smtp_routes=routes) as srv:
        yield srv


@pytest.fixture
def connect(sandbox, tmp_path):
    """connect(address, scopes=None, service_account=False) -> a real googleapiclient Gmail service."""
    services = []

    def make(address=SUPPORT, scopes=None, service_account_scopes=None):
        if service_account_scopes:
            creds = service_account.Credentials.from_service_account_file(
                str(tmp_path / "service_account.json"), scopes=service_account_scopes, subject=address)
        else:
            path = tmp_path / f"{address}.json"
            if scopes:
                path = sandbox.write_authorized_user(address, scopes, name=f"{address}-{len(services)}.json")
            token_uri = json.loads(path.read_text())["token_uri"]
            creds = Credentials.from_authorized_user_file(str(path)).with_token_uri(token_uri)
        service = build("gmail", "v1", credentials=creds, static_discovery=True,
                        client_options={"api_endpoint": sandbox.url})
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


@pytest.fixture
def gmail(connect):
    return connect(SUPPORT)
