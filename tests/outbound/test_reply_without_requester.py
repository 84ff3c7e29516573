"""A ticket whose mail had no usable From has nobody to reply to: `reply` and the API refuse, notes still work."""
from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlmodel import select

from connector.cli import main
from connector.store.db import session_scope
from connector.store.models import Ticket
from connector.store.outbound_models import OutgoingMail
from tests.outbound.conftest import SUPPORT, only_ticket_id, sync


def mail_without_from() -> bytes:
    msg = EmailMessage()
    msg["To"] = SUPPORT
    msg["Subject"] = "Printer on fire"
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="scanner.example")
    msg.set_content("Sent from the office scanner.")
    return bytes(msg)


@pytest.fixture
def cli(tmp_path, sandbox, runtime, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("GMAIL_API_ENDPOINT", sandbox.url)
    return lambda *argv: main(["--env-file", "/dev/null", *argv])


@pytest.fixture
def ticket_id(runtime, sandbox) -> int:
    sandbox.core.deliver(SUPPORT, mail_without_from())
    sync(runtime)
    ticket = only_ticket_id(runtime)
    with session_scope(runtime.engine) as session:
        assert session.get(Ticket, ticket).requester_email == ""
    return ticket


def _rows(runtime) -> list[OutgoingMail]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(OutgoingMail)))


def test_a_reply_to_nobody_is_refused_in_one_line(cli, runtime, ticket_id, capsys):
    assert cli("reply", str(ticket_id), "--body", "We are on it.", "--send-now") == 1

    err = capsys.readouterr().err
    assert err == (f"gmail-connector: ticket {ticket_id} has no requester address to reply to; "
                   "nothing queued (--private adds an internal note instead)\n")
    assert _rows(runtime) == []


def test_an_internal_note_is_still_allowed(cli, runtime, ticket_id, capsys):
    assert cli("reply", str(ticket_id), "--body", "Scanner mail; call the office.", "--private") == 0
    assert "never sent" in capsys.readouterr().out
    assert [row.state for row in _rows(runtime)] == ["private"]
