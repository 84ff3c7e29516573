"""Received mail whose processing failed (the database briefly down) is logged, kept pending, and retried."""
from __future__ import annotations

import logging
import smtplib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from jobs.retry_pending import RETRY_AFTER, retry_pending_smtp
from connector.inbound.server import InboundServer
from connector.store.db import session_scope
from connector.store.models import RawMail
from connector.store.queries import ticket_rows
from connector.store.raw import store_raw
from connector.store.types import utcnow
from tests.inbound.conftest import SALES

MAIL = (b"From: Client <client@example.org>\r\nTo: ventes@masociete.com\r\nSubject: Devis\r\n"
        b"Message-ID: <devis-1@example.org>\r\nDate: Tue, 07 Apr 2026 10:00:00 +0000\r\n\r\nBonjour.\r\n")


@pytest.fixture
def database_down_for_the_worker(runtime):
    """Every statement from the receiver's processing thread fails, so even the hold-back cannot be written."""
    def refuse(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread().name.startswith("inbound-process"):
            raise OperationalError(statement, parameters, Exception("database is down"))

    event.listen(runtime.engine, "before_cursor_execute", refuse)
    yield
    event.remove(runtime.engine, "before_cursor_execute", refuse)


def _states(runtime) -> list[str]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(RawMail.state).order_by(RawMail.id)))


def _receive_while_processing_fails(runtime) -> None:
    with InboundServer(runtime, "127.0.0.1", 0) as receiver:
        with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
            client.sendmail("client@example.org", [SALES], MAIL)
        receiver.wait_idle()


def test_a_failed_processing_is_logged_and_the_mail_stays_pending(runtime, database_down_for_the_worker, caplog):
    with caplog.at_level(logging.ERROR, logger="connector.inbound.server"):
        _receive_while_processing_fails(runtime)

    [record] = [r for r in caplog.records if r.name == "connector.inbound.server"]
    assert "left pending" in record.getMessage() and record.exc_info is not None
    assert _states(runtime) == ["pending"]


def test_retry_tickets_mail_left_pending_for_over_a_minute(runtime):
    with session_scope(runtime.engine) as session:
        store_raw(session, "smtp", MAIL, message_id="devis-1@example.org", envelope_to=[SALES], received_at=utcnow())

    assert retry_pending_smtp(runtime) == 0, "fresh mail is left to the receiver's worker"
    assert _states(runtime) == ["pending"]

    assert retry_pending_smtp(runtime, now=lambda: utcnow() + RETRY_AFTER + timedelta(seconds=1)) == 1

    assert _states(runtime) == ["processed"]
    with session_scope(runtime.engine) as session:
        [ticket] = ticket_rows(session)
    assert ticket["group"] == "Sales"
