"""The receiver forgets each SMTP session once its connection is closed, so a long-running daemon does not grow."""
from __future__ import annotations

import smtplib

from connector.inbound.server import InboundServer
from tests.inbound.conftest import wait_until



def test_closed_connections_are_not_kept(runtime):
    with InboundServer(runtime, "127.0.0.1", 0) as receiver:
        for _ in range(20):
            with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
                client.noop()
        with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as still_open:
            still_open.noop()
            assert wait_until(lambda: receiver.open_sessions == 1), receiver.open_sessions
        assert wait_until(lambda: receiver.open_sessions == 0), receiver.open_sessions
