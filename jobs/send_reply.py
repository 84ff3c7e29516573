"""`send_pending`: the job that sends queued replies, through Gmail or the SMTP relay, exactly once."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable

from connector.gmail.port import GmailError, GmailGateway, InvalidRequest, SendingLimitExceeded
from connector.outbound.caps import SEND_CAP_WINDOW
from connector.outbound.compose import compose_reply
from connector.outbound.dkim_sign import DkimError, sign
from connector.outbound.senders import Outbound
from connector.outbound.smtp_relay import RelayError, RelayRefused, RelayTemporary, relay_send
from connector.store.addresses import outgoing_refusal
from connector.store.db import session_scope
from connector.store.types import utcnow
from connector.collaborators import Collaborators
from jobs.outbound_queue import (Claimed, cap_reached_until, claim, due_ids, record_failed,
                                 record_retry, record_sent, record_waiting_cap)

log = logging.getLogger(__name__)
MAYBE_DELIVERED = ("the relay may already have accepted it before the daemon stopped; check the customer's "
                   "copy, then queue it again")
# smtplib frames: inside DATA the message may be complete at the relay; QUIT comes after it was accepted.
_DATA, _QUIT = smtplib.SMTP.data.__code__, smtplib.SMTP.__exit__.__code__


class SendRefused(Exception):
    """Sending this reply cannot work as configured; the message tells the operator what to change."""


class DeliveryUnknown(Exception):
    """The relay may have the reply already; unlike Gmail it cannot be searched, so a person decides."""


@dataclass
class SendReport:
    sent: int = 0
    recovered: int = 0                 # found already in Sent mail after a crash: recorded, not resent
    retrying: int = 0
    waiting_cap: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        name = {"queued": "retrying"}.get(outcome, outcome)
        if hasattr(self, name) and name != "errors":
            setattr(self, name, getattr(self, name) + 1)


def send_pending(runtime: Collaborators, *, now: Callable[[], datetime] = utcnow, outbound: Outbound | None = None,
                 limit: int = 100) -> SendReport:
    """One pass over the due replies. Never raises for a reply's trouble: it is recorded on the reply."""
    outbound = outbound if outbound is not None else runtime.outbound
    report = SendReport()
    for outgoing_id in due_ids(runtime.engine, now(), limit):
        outcome, error = send_one(runtime, outgoing_id, now=now, outbound=outbound)
        report.count(outcome)
        if error:
            report.errors.append(f"reply {outgoing_id}: {error}")
    return report


def send_one(runtime: Collaborators, outgoing_id: int, *, now: Callable[[], datetime] = utcnow,
             outbound: Outbound | None = None) -> tuple[str, str | None]:
    """Send one due reply: (outcome, error). Outcome: sent | recovered | queued | waiting_cap | failed | skipped."""
    outbound = outbound if outbound is not None else runtime.outbound
    engine, when = runtime.engine, now()
    claimed = claim(engine, outgoing_id, when, runtime.settings.attachments_dir)
    if claimed is None:
        return "skipped", None
    try:
        if claimed.sender_is_inbox or (outbound.relay is None and claimed.inbox_address):
            return _via_gmail(runtime, claimed, when, outbound), None
        return _via_relay(runtime, claimed, when, outbound), None
    except SendingLimitExceeded as exc:
        until = when + timedelta(seconds=exc.retry_after) if exc.retry_after else when + SEND_CAP_WINDOW
        record_waiting_cap(engine, outgoing_id, when, str(exc), until)
        return "waiting_cap", str(exc)
    except (SendRefused, DeliveryUnknown, InvalidRequest, RelayRefused, DkimError) as exc:
        record_failed(engine, outgoing_id, when, str(exc))
        return "failed", str(exc)
    except (GmailError, RelayTemporary) as exc:
        return record_retry(engine, outgoing_id, when, str(exc), getattr(exc, "retry_after", None)), str(exc)
    except Exception as exc:  # noqa: BLE001 — one broken reply must not stop the others
        log.exception("reply %s could not be sent", outgoing_id)
        message = f"{type(exc).__name__}: {exc}"
        return record_retry(engine, outgoing_id, when, message), message


def _via_gmail(runtime: Collaborators, claimed: Claimed, when: datetime, outbound: Outbound) -> str:
    gateway = runtime.open_gateway(claimed.inbox_address)
    try:
        # Before any retry: the earlier attempt may have been sent and only its recording lost.
        if claimed.maybe_sent and (found := gateway.find_by_message_id(claimed.message_id)):
            record_sent(runtime.engine, claimed.id, when, "gmail", found[0], None)
            return "recovered"
        until = cap_reached_until(runtime.engine, claimed.inbox_id, claimed.inbox_address, when)
        if until is not None:
            raise SendingLimitExceeded(f"{claimed.inbox_address} reached Gmail's daily sending limit",
                                       (until - when).total_seconds())
        _check_send_as(gateway, claimed)
        sent = gateway.send(compose_reply(replace(claimed.reply, date=when)), claimed.thread_id)
        if outbound.after_send:
            outbound.after_send(claimed.id)
        record_sent(runtime.engine, claimed.id, when, "gmail", sent.id, sent.thread_id)
        return "sent"
    finally:
        gateway.close()


def _check_send_as(gateway: GmailGateway, claimed: Claimed) -> None:
    aliases = {alias.email.lower() for alias in gateway.send_as() if alias.verification_status == "accepted"}
    if claimed.from_address not in aliases:
        raise SendRefused(
            f"{claimed.from_address} is not a send-as address of the Gmail mailbox {claimed.inbox_address}: "
            f"Gmail would silently replace the From with {claimed.inbox_address}. Add it in Gmail (Settings > "
            "Accounts > Send mail as) or set SMTP_RELAY_URL to send it through a relay")


def _via_relay(runtime: Collaborators, claimed: Claimed, when: datetime, outbound: Outbound) -> str:
    if outbound.relay is None:
        raise SendRefused(f"{claimed.from_address} is not a connected Gmail inbox and SMTP_RELAY_URL is not set")
    if claimed.interrupted:
        raise DeliveryUnknown(f"not sent again: {MAYBE_DELIVERED}")
    with session_scope(runtime.engine) as session:
        refusal = outgoing_refusal(session, claimed.from_address)
    if refusal:
        # Not a failure of the reply: it goes out once the address is verified (retried with backoff).
        raise RelayTemporary(refusal)
    raw = compose_reply(replace(claimed.reply, date=when))
    if outbound.dkim is not None:
        raw = sign(raw, outbound.dkim, claimed.from_address.rpartition("@")[2])
    try:
        relay_send(outbound.relay, claimed.from_address, claimed.recipients, raw, outbound.ssl_context)
    except RelayError as exc:
        if _handed_over(exc):
            raise DeliveryUnknown(f"the relay connection failed after the message was sent ({exc}); "
                                  f"not sent again: {MAYBE_DELIVERED}") from exc
        raise
    try:
        if outbound.after_send:
            outbound.after_send(claimed.id)
        record_sent(runtime.engine, claimed.id, when, "smtp")
    except Exception as exc:
        # The relay said 250: a retry would deliver it twice. (A process killed here leaves it
        # "sending", which the next claim reports as interrupted, with the same outcome.)
        raise DeliveryUnknown(f"sent, but recording it failed ({type(exc).__name__}); not sent again: "
                              f"{MAYBE_DELIVERED}") from exc
    return "sent"


def _handed_over(exc: RelayError) -> bool:
    """Whether the relay failed after receiving the whole message but before its final answer.

    A refusal before DATA (connect, AUTH, MAIL, RCPT) or a coded answer to the message is definite
    and safe to retry; a dropped connection or timeout inside DATA (or at QUIT) is not. smtp_relay
    does not say which stage failed, so the stage is read from where smtplib raised."""
    cause = exc.__cause__
    if cause is None:
        return False
    codes, tb = set(), cause.__traceback__
    while tb is not None:
        codes.add(tb.tb_frame.f_code)
        tb = tb.tb_next
    return _QUIT in codes or (_DATA in codes and not isinstance(cause, smtplib.SMTPResponseException))
