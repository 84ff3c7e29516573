"""Sandbox Gmail + the real SMTP receiver + a real store (SQLite or PostgreSQL), wired the way the daemon does."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from connector.bootstrap import bootstrap
from connector.cli.inboxes_cmd import connect_inbox
from connector.gmail.google import GoogleGmail
from connector.inbound.server import InboundServer
from connector.settings import Settings
from connector.store.addresses import add_external_address, get_external
from connector.store.db import session_scope
from sandbox.server import SandboxServer

DOMAIN = "helpdesk.example.com"
THREE = {"facturation@masociete.com": "Billing", "aide@masociete.com": "Support", "ventes@masociete.com": "Sales"}
FACTURATION, AIDE, VENTES = THREE
CONSUMER = "particulier@gmail.com"
ANCIEN = "ancien@masociete.com"


def support_of(external: str) -> str:
    return f"{external.partition('@')[0]}@{DOMAIN}"


@pytest.fixture
def world(tmp_path, database_url):
    with SandboxServer(mailboxes=[*THREE, CONSUMER, ANCIEN], state_dir=tmp_path / "sandbox", port=0) as sandbox:
        settings = Settings(data_dir=tmp_path / "data", database_url=database_url, gmail_api_endpoint=sandbox.url,
                            inbound_domain=DOMAIN)
        runtime = bootstrap(settings)
        runtime.gateway_factory = lambda credentials, s, **rules: GoogleGmail(credentials, s.gmail_api_endpoint,
                                                                     timeout=10, sleep=lambda _: None, **rules)
        with InboundServer(runtime, "127.0.0.1", 0) as receiver:
            sandbox.core.smtp_routes[DOMAIN] = (receiver.host, receiver.port)
            yield World(sandbox, runtime, receiver)
        runtime.engine.dispose()


class World:
    def __init__(self, sandbox, runtime, receiver):
        self.sandbox, self.runtime, self.receiver = sandbox, runtime, receiver

    def map(self, external: str, group: str = "Billing", support: str | None = None) -> None:
        with session_scope(self.runtime.engine) as session:
            add_external_address(session, external, support or support_of(external), group)

    def connect(self, address: str, group: str = "Support", service_account: bool = False) -> None:
        if service_account:
            connect_inbox(self.runtime, address, "service_account", self.sandbox.service_account_info(), group)
        else:
            info = json.loads((Path(self.sandbox.state_dir) / f"{address}.json").read_text())
            connect_inbox(self.runtime, address, "authorized_user", info, group)

    def row(self, external: str):
        with session_scope(self.runtime.engine) as session:
            row = get_external(session, external)
            session.expunge(row)
            return row

    def click_confirmation_link(self, external: str) -> None:
        """What the admin does with the link `forwarding status` shows."""
        self.receiver.wait_idle()
        link = self.row(external).confirmation_link
        assert link, "the confirmation mail was attached to the setup"
        with urllib.request.urlopen(link, timeout=10) as page:
            assert page.status == 200

    def filters(self, external: str) -> list[dict]:
        return list(self.sandbox.core.settings[external].filters.values())

    def customer_mail(self, to: str, n: int, sender: str = "client@example.org") -> bytes:
        return (f"From: Client {n} <{sender}>\r\nTo: {to}\r\nSubject: Question {n}\r\n"
                f"Message-ID: <q{n}@example.org>\r\nDate: Tue, 07 Apr 2026 10:00:00 +0000\r\n\r\n"
                f"Bonjour {n}\r\n").encode()
