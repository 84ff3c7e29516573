"""A real SQLite store with inboxes, tickets and held-back mail, as the sync layer would leave it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
from sqlalchemy import Engine

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


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
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
                            from_email="ann@example.com", subject=EVIL_SUBJECT if n == 0 else f"mail {n}",
                            received_at=received)
            apply_decision(session, raw, decision, attachments_dir, NOW)


@pytest.fixture
def populated(engine, tmp_path) -> Engine:
    populate(engine, tmp_path / "attachments")
    return engine


@pytest.fixture
def runtime(populated, tmp_path) -> Runtime:
    settings = Settings(data_dir=tmp_path / "data", admin_token=ADMIN_TOKEN)
    return Runtime(settings=settings, engine=populated)
