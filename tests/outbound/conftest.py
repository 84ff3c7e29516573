"""A connector wired to a fresh Gmail sandbox and a real store (SQLite or PostgreSQL), with tickets to reply to."""
from __future__ import annotations

import json
import socket
import urllib.request
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlmodel import select

from connector.bootstrap import bootstrap
from connector.cli.inboxes_cmd import connect_inbox
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.models import Ticket
from connector.store.outbound_models import OutgoingMail
from jobs.send_reply import Outbound, send_pending
from jobs.sync_inbox import sync_inbox
from sandbox.mime import unb64url
from sandbox.server import SandboxServer
from tests.sync.conftest import make_runtime  # the one way tests wire a connector to the sandbox

SUPPORT = "support@masociete.com"
CUSTOMER = "customer@gmail.com"
LATER = timedelta(days=2)


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(mailboxes=[SUPPORT, CUSTOMER], state_dir=tmp_path / "sandbox", quota_tier="2026",
                       port=0) as srv:
        yield srv


def free_port() -> int:
    # aiosmtpd 1.4's ready-check cannot follow port 0, so pick a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def engine(database_url):
    """A migrated, empty store, for tests that need no sandbox."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def runtime(tmp_path, sandbox, database_url):
    runtime = make_runtime(tmp_path, sandbox, database_url)
    info = json.loads((Path(sandbox.state_dir) / f"{SUPPORT}.json").read_text())
    connect_inbox(runtime, SUPPORT, "authorized_user", info, "Support")
    yield runtime
    # Pooled PostgreSQL connections left to the garbage collector raise ResourceWarning (an error here).
    runtime.engine.dispose()


def sync(runtime):
    report = sync_inbox(runtime, SUPPORT)
    assert report.ok, report.error
    return report


def send(runtime, at: datetime | None = None, outbound: Outbound | None = None):
    when = at or datetime.now(timezone.utc)
    return send_pending(runtime, now=lambda: when, outbound=outbound or Outbound())


def customer_writes(subject: str = "Cannot log in", body: str = "Hello, I cannot log in.", *,
                    in_reply_to: str | None = None, references: str | None = None, auto: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Claire Martin <{CUSTOMER}>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="mail.gmail.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(body)
    return bytes(msg)


def sent_records(sandbox) -> list[dict]:
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/sent", timeout=10) as answer:
        return json.loads(answer.read())["sent"]


def parsed(record: dict):
    return message_from_bytes(unb64url(record["raw"]), policy=default)


def ticket(runtime, ticket_id: int) -> Ticket:
    with session_scope(runtime.engine) as session:
        return session.get(Ticket, ticket_id)


def outgoing(runtime, outgoing_id: int) -> OutgoingMail:
    with session_scope(runtime.engine) as session:
        return session.get(OutgoingMail, outgoing_id)


def only_ticket_id(runtime) -> int:
    with session_scope(runtime.engine) as session:
        ids = list(session.exec(select(Ticket.id)))
    assert len(ids) == 1, ids
    return ids[0]
