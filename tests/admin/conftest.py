"""A real store (SQLite or PostgreSQL) with inboxes, tickets and held-back mail, as the sync layer would leave it."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from connector.admin.app import create_app
from connector.admin.server import AdminServer
from connector.bootstrap import Runtime
from connector.mail.decision import CreateTicket, NewComment, Suspend
from connector.mail.model import Address
from connector.settings import Settings
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.inboxes import add_inbox, record_failure, record_success
from connector.store.models import Credential
from connector.store.raw import store_raw
from connector.store.tickets import apply_decision

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
ADMIN_TOKEN = "admin-token-5f1c9a-do-not-leak"
CIPHERTEXT = b"gAAAAA-sealed-refresh-token-do-not-leak"
EVIL_SUBJECT = "<script>alert(1)</script>"


@dataclass
class FakeDaemon:
    """The daemon's side of the admin app, recording what the app asked it to do."""
    started_at: datetime = NOW - timedelta(hours=2)
    running: bool = True
    synced: list[str] = field(default_factory=list)
    reprocessed: list[int] = field(default_factory=list)

    def scheduler_running(self) -> bool:
        return self.running

    def next_run(self, address: str) -> datetime | None:
        return NOW + timedelta(seconds=30)

    def sync_now(self, address: str) -> None:
        self.synced.append(address)

    def reprocess(self, raw_mail_id: int) -> None:
        self.reprocessed.append(raw_mail_id)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """Migrate once per session; each test copies the file (migrations have their own tests)."""
    path = tmp_path_factory.mktemp("template") / "connector.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last close folds the WAL back into the file we copy
    return path


@pytest.fixture
def engine(request, database_url) -> Iterator[Engine]:
    if make_url(database_url).get_backend_name() == "sqlite":
        target = Path(make_url(database_url).database)
        target.parent.mkdir(parents=True)
        shutil.copyfile(request.getfixturevalue("migrated_template"), target)
        engine = make_engine(database_url)
    else:
        engine = make_engine(database_url)
        upgrade(engine)
    yield engine
    engine.dispose()


def _ticket(subject: str, message_id: str) -> CreateTicket:
    customer = Address("Ann Customer", "ann@example.com")
    comment = NewComment(author=customer, body_text="hello", body_html=None, public=True, message_id=message_id)
    return CreateTicket(subject=subject, requester=customer, group="Support",
                        received_at_address="help@example.com", comment=comment)


def populate(engine: Engine, attachments_dir) -> None:
    """help@ is healthy with two tickets and two held-back mails; sales@ needs consent again; ops@ fails."""
    with session_scope(engine) as session:
        help_, sales = add_inbox(session, "help@example.com"), add_inbox(session, "sales@example.com", group="Sales")
        ops = add_inbox(session, "ops@example.com", mode="forwarding")
        for inbox in (help_, sales, ops):
            session.add(Credential(inbox_id=inbox.id, kind="authorized_user", secret_ciphertext=CIPHERTEXT))
        record_success(session, help_, NOW - timedelta(minutes=2), history_id="4242", imported=7)
        record_failure(session, sales, "auth_revoked", "the grant was revoked", None, NOW - timedelta(minutes=5))
        record_failure(session, ops, "rate_limited", "quota exceeded", NOW + timedelta(minutes=4), NOW)
        decisions = [_ticket(EVIL_SUBJECT, "m1@example.com"), _ticket("Invoice", "m2@example.com"),
                     Suspend(reason="auto-reply (Auto-Submitted: auto-replied)", kind="auto_reply"),
                     Suspend(reason="bounce: mailbox full", kind="bounce")]
        for n, decision in enumerate(decisions):
            received = NOW - timedelta(hours=1) if n < 3 else NOW - timedelta(days=2)
            raw = store_raw(session, "gmail", f"Subject: {n}\r\n\r\nbody\r\n".encode(), inbox_id=help_.id,
                            gmail_id=f"g{n}", thread_id=f"t{n}", message_id=f"m{n + 1}@example.com",
                            from_email="ann@example.com", subject=EVIL_SUBJECT if n in (0, 2) else f"mail {n}",
                            received_at=received)
            apply_decision(session, raw, decision, attachments_dir, NOW)


@pytest.fixture
def populated(engine, tmp_path) -> Engine:
    populate(engine, tmp_path / "attachments")
    return engine


@pytest.fixture
def runtime(populated, tmp_path, database_url) -> Runtime:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, admin_token=ADMIN_TOKEN)
    settings.data_dir.mkdir(exist_ok=True)     # as bootstrap() does; /healthz checks it (SQLite put it there)
    return Runtime(settings=settings, engine=populated)


class Client:
    """requests against one running admin server; every answer is checked for leaked secrets."""

    def __init__(self, base: str, token: str | None = ADMIN_TOKEN):
        self.base, self.session = base, requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        response = self.session.request(method, self.base + path, timeout=5, **kwargs)
        assert ADMIN_TOKEN not in response.text and CIPHERTEXT.decode() not in response.text
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def serve():
    """Start the admin app for `runtime` on 127.0.0.1:0; returns a Client (or its base URL)."""
    servers, clients = [], []

    def start(runtime: Runtime, daemon=None, token: str | None = ADMIN_TOKEN) -> Client:
        server = AdminServer(create_app(runtime, daemon), "127.0.0.1", 0)
        server.start()
        servers.append(server)
        clients.append(Client(f"http://127.0.0.1:{server.port}", token))
        return clients[-1]

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.stop()
