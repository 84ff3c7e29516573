"""`gmail-connector reply`: what an agent types, end to end through main() and the sandbox."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from connector.cli import main
from connector.store.db import session_scope
from connector.store.models import Comment
from connector.store.outbound_models import OutgoingMail
from tests.outbound.conftest import CUSTOMER, SUPPORT, customer_writes, only_ticket_id, parsed, sent_records, sync


@pytest.fixture
def cli(tmp_path, sandbox, runtime, monkeypatch):
    """main() reads the same data directory, database and sandbox as `runtime` does."""
    monkeypatch.setenv("DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("GMAIL_API_ENDPOINT", sandbox.url)
    absent = "/dev/null"
    return lambda *argv: main(["--env-file", absent, *argv])


@pytest.fixture
def ticket_id(runtime, sandbox):
    sandbox.core.deliver(SUPPORT, customer_writes())
    sync(runtime)
    return only_ticket_id(runtime)


def _rows(runtime) -> list[OutgoingMail]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(OutgoingMail)))


def test_reply_is_queued_for_the_daemon(cli, runtime, ticket_id, sandbox, capsys):
    assert cli("reply", str(ticket_id), "--body", "We are on it.") == 0
    out = capsys.readouterr().out
    [row] = _rows(runtime)
    assert f"reply {row.id} queued on ticket #{ticket_id} to {CUSTOMER} from {SUPPORT}" in out
    assert row.state == "queued" and sent_records(sandbox) == []


def test_send_now_with_a_body_file_and_an_attachment(cli, runtime, ticket_id, sandbox, tmp_path, capsys):
    (tmp_path / "answer.txt").write_text("Bonjour,\n\nvoici la procédure.\n", encoding="utf-8")
    (tmp_path / "guide.pdf").write_bytes(b"%PDF-1.4 guide")

    status = cli("reply", str(ticket_id), "--body-file", str(tmp_path / "answer.txt"),
                 "--attach", str(tmp_path / "guide.pdf"), "--send-now")

    assert status == 0 and "sent" in capsys.readouterr().out.splitlines()[-1]
    mail = parsed(sent_records(sandbox)[0])
    assert "voici la procédure" in mail.get_body(("plain",)).get_content()
    assert [(p.get_filename(), p.get_content()) for p in mail.iter_attachments()] == [("guide.pdf", b"%PDF-1.4 guide")]
    [row] = _rows(runtime)
    assert row.state == "sent" and json.loads(row.attachments)[0]["filename"] == "guide.pdf"


def test_private_note_is_never_sent(cli, runtime, ticket_id, sandbox, capsys):
    assert cli("reply", str(ticket_id), "--body", "VIP customer", "--private", "--send-now") == 0
    assert "never sent" in capsys.readouterr().out
    assert sent_records(sandbox) == []
    with session_scope(runtime.engine) as session:
        note = session.exec(select(Comment).where(Comment.body_text == "VIP customer")).one()
    assert note.public is False


def test_user_errors_are_clear_and_queue_nothing(cli, runtime, ticket_id, tmp_path, capsys):
    assert cli("reply", "999", "--body", "Hello") == 1
    assert "nothing queued: no ticket 999" in capsys.readouterr().err
    assert cli("reply", str(ticket_id), "--body", "Hello", "--attach", str(tmp_path / "missing.pdf")) == 1
    assert "cannot attach" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli("reply", str(ticket_id))                       # --body or --body-file is required
    assert _rows(runtime) == []


def test_a_refused_send_now_says_why(cli, runtime, ticket_id, sandbox, capsys):
    from connector.store.models import Ticket

    with session_scope(runtime.engine) as session:
        session.get(Ticket, ticket_id).received_at_address = "sales@masociete.com"
    assert cli("reply", str(ticket_id), "--body", "Hello", "--send-now") == 1
    assert "not a send-as address" in capsys.readouterr().err
    assert sent_records(sandbox) == []
