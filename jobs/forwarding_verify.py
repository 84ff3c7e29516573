"""`forwarding verify`: send the test mail to the external address, then wait for it to arrive forwarded.

The test mail leaves through a Gmail inbox of ours when one is connected (Gmail does not forward
mail a mailbox sent itself, so another one), otherwise through SMTP_RELAY_URL, the way replies from
external addresses leave. Either way only its forwarded copy at the support address verifies.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, NamedTuple

from connector.forwarding import states
from connector.forwarding.verification import new_token, verification_mail
from connector.outbound.smtp_relay import RelayError, RelayRefused, relay_send
from connector.store.db import session_scope
from connector.store.forwarding_models import ExternalAddress
from connector.store.inboxes import list_inboxes
from connector.store.types import utcnow
from connector.collaborators import Collaborators
from jobs.forwarding import address_status, converge
from jobs.forwarding_rows import SetupError, require_gmail_grant, save, snapshot

Send = Callable[[bytes], None]


class VerificationSent(NamedTuple):
    token: str
    sender: str
    route: str              # "gmail", or the relay (without its password)


def start_verification(runtime: Collaborators, external: str, send_from: str | None = None,
                       now: Callable[[], datetime] = utcnow) -> VerificationSent:
    """Check the setup at once, then send the test mail.

    The token is committed before sending: the forwarded copy may arrive before `send` returns."""
    row = snapshot(runtime, external)
    if row.state == states.NOT_CONFIGURED:
        raise SetupError(f"forwarding of {row.external_address} is not set up: gmail-connector forwarding setup "
                         f"{row.external_address}")
    if row.provider == states.GMAIL and row.state in (states.AWAITING, *states.WORKING):
        _check_gmail_side(runtime, row, now)
    sender, route, send = _test_route(runtime, row, send_from)
    token = new_token()
    save(runtime, row.external_address, now(), verification_token=token, verification_sent_at=now())
    try:
        send(verification_mail(row.external_address, sender, token, now()))
    except RelayError as exc:
        reason = f"the relay did not take the test mail for {row.external_address}: {exc}"
        if isinstance(exc, RelayRefused):     # retrying cannot help: the address fails with the relay's words
            save(runtime, row.external_address, now(), state=states.FAILED, failure_reason=reason,
                 verification_token=None, last_check_at=now())
        raise SetupError(reason) from None
    return VerificationSent(token, sender, route)


def _check_gmail_side(runtime: Collaborators, row: ExternalAddress, now: Callable[[], datetime]) -> None:
    require_gmail_grant(runtime, row)
    gateway = runtime.open_gateway(row.external_address)
    try:
        plan, _ = converge(runtime, gateway, row, address_status(gateway, row.support_address),
                           repair=row.state == states.AWAITING, now=now())
    finally:
        gateway.close()
    if plan.state in (states.AWAITING, states.FAILED):
        raise SetupError(plan.reason or f"{row.support_address} is not confirmed in {row.external_address}'s "
                         "Gmail yet: see gmail-connector forwarding status for the code and link")


def _test_route(runtime: Collaborators, row: ExternalAddress, send_from: str | None) -> tuple[str, str, Send]:
    """Who sends the test mail and how: (sender, "gmail" or the relay, the send function)."""
    relay = runtime.outbound.relay
    with session_scope(runtime.engine) as session:
        # Only inboxes we read may send: a forwarded address's grant holds no sending scope.
        readers = [i.address for i in list_inboxes(session) if i.mode == "direct" and i.state == "active"]
    wanted = send_from.strip().lower() if send_from else None
    others = [a for a in readers if a != row.external_address]
    sender = wanted or (others[0] if others else None)
    if sender in readers:
        return sender, "gmail", _through_gmail(runtime, sender)
    if relay is not None:
        sender = sender or row.support_address      # a bounce of the test mail comes back to us
        return sender, relay.describe(), lambda raw: relay_send(relay, sender, [row.external_address], raw,
                                                                runtime.outbound.ssl_context)
    if wanted:
        raise SetupError(f"{wanted} is not a connected Gmail inbox and SMTP_RELAY_URL is not set: nothing can "
                         "send the test mail from it")
    if row.external_address in readers:
        return row.external_address, "gmail", _through_gmail(runtime, row.external_address)
    raise SetupError(f"nothing can send the test mail to {row.external_address}: no Gmail inbox of ours is "
                     "connected and SMTP_RELAY_URL is not set; set SMTP_RELAY_URL (replies from the address "
                     "leave through it too) or connect an inbox with gmail-connector auth add")


def _through_gmail(runtime: Collaborators, sender: str) -> Send:
    def send(raw: bytes) -> None:
        gateway = runtime.open_gateway(sender)
        try:
            gateway.send(raw)
        finally:
            gateway.close()
    return send


def await_verification(runtime: Collaborators, external: str, token: str, timeout: float,
                       now: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep,
                       clock: Callable[[], float] = time.monotonic) -> ExternalAddress:
    """Wait for the receiver to record the test mail; on timeout the address fails with what to check."""
    deadline = clock() + timeout
    while True:
        row = snapshot(runtime, external)
        if row.verification_token != token:
            return row
        if clock() >= deadline:
            break
        sleep(min(0.2, max(0.0, deadline - clock())))
    # The token stays: a copy that is merely late still verifies when it comes.
    reason = states.not_forwarded(row.external_address, row.support_address, int(timeout), row.provider)
    return save(runtime, external, now(), state=states.FAILED, last_check_at=now(), failure_reason=reason)
