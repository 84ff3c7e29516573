"""A reply through the SMTP relay is never sent twice: after a crash or a connection lost inside DATA a person decides."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller

from connector.bootstrap import bootstrap
from connector.outbound.smtp_relay import RelayConfig
from connector.settings import Settings
from connector.store.addresses import add_external_address, touch
from connector.store.db import session_scope
from connector.store.models import Ticket
from connector.store.outbound import queue_reply
from jobs.outbound_queue import LEASE
from jobs.send_reply import Outbound, send_pending
from tests.outbound.conftest import LATER, free_port, outgoing

EXTERNAL, SUPPORT_ADDRESS, CLAIRE = "facturation@masociete.com", "facturation@helpdesk.example", "claire@example.org"


class Relay:
    """A plain local relay. `rcpt_answer` refuses at RCPT; `drop_after_data` keeps the message, then hangs up."""

    def __init__(self) -> None:
        self.envelopes, self.rcpt_answer, self.drop_after_data = [], None, False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        if self.drop_after_data:
            # Accepted on the relay's side, yet the 250 never reaches the client.
            server.transport.abort()
        return "250 OK"


@pytest.fixture
def relay():
    relay = Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    relay.outbound = Outbound(relay=RelayConfig.from_url(f"smtp://127.0.0.1:{controller.port}", timeout=5))
    yield relay
    controller.stop()


@pytest.fixture
def runtime(tmp_path):
    runtime = bootstrap(Settings(data_dir=tmp_path / "data"))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def reply_id(runtime) -> int:
    with session_scope(runtime.engine) as session:
        touch(add_external_address(session, EXTERNAL, SUPPORT_ADDRESS, "Billing"), state="verified")
        ticket = Ticket(subject="Facture 2026-0042", status="open", requester_email=CLAIRE,
                        received_at_address=SUPPORT_ADDRESS)
        session.add(ticket)
        session.flush()
        return queue_reply(session, ticket.id, "Bonjour Claire, voici la facture.",
                           attachments_dir=runtime.settings.attachments_dir).id


class Killed(BaseException):
    """The process dying after the relay's 250 and before the reply is recorded."""


def _crash(exc: BaseException):
    def after_send(outgoing_id: int) -> None:
        raise exc
    return after_send


def _send(runtime, outbound: Outbound, later: timedelta = timedelta(0)):
    # Queued replies are due from the moment they were queued, so the clock starts at the real now.
    at = datetime.now(timezone.utc) + timedelta(seconds=1) + later
    return send_pending(runtime, now=lambda: at, outbound=outbound)


@pytest.mark.parametrize("crash", [RuntimeError("disk full"), Killed()], ids=["error", "killed"])
def test_a_crash_after_the_relay_accepted_never_sends_again(runtime, relay, reply_id, crash):
    crashing = Outbound(relay=relay.outbound.relay, after_send=_crash(crash))
    if isinstance(crash, Killed):
        with pytest.raises(Killed):
            _send(runtime, crashing)
        assert outgoing(runtime, reply_id).state == "sending"
        _send(runtime, relay.outbound, LEASE + timedelta(seconds=1))
    else:
        assert _send(runtime, crashing).failed == 1
        assert _send(runtime, relay.outbound, LATER).sent == 0

    assert len(relay.envelopes) == 1, "the customer got the reply once"
    row = outgoing(runtime, reply_id)
    assert row.state == "failed" and "check the customer's copy, then queue it again" in row.last_error


def test_a_connection_lost_after_data_is_not_retried(runtime, relay, reply_id):
    relay.drop_after_data = True

    report = _send(runtime, relay.outbound)
    relay.drop_after_data = False
    later = _send(runtime, relay.outbound, LATER)

    assert (report.failed, report.retrying, later.sent) == (1, 0, 0)
    assert len(relay.envelopes) == 1
    row = outgoing(runtime, reply_id)
    assert row.state == "failed" and "may already have accepted it" in row.last_error


def test_a_temporary_refusal_at_rcpt_is_retried_and_then_sent_once(runtime, relay, reply_id):
    relay.rcpt_answer = "451 4.3.0 Try again later"

    first = _send(runtime, relay.outbound)
    assert (first.retrying, outgoing(runtime, reply_id).state) == (1, "queued")

    relay.rcpt_answer = None
    second = _send(runtime, relay.outbound, LATER)

    assert (second.sent, second.failed) == (1, 0)
    assert len(relay.envelopes) == 1 and outgoing(runtime, reply_id).state == "sent"
