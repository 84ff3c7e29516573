"""Switching an inbox between direct reading and forwarding without losing or duplicating a message.

To forwarding: only once its forwarding is verified, so the filter already forwards every new mail;
then one last pass reads what Gmail received before the filter existed, and only then does the
mode change. A message that arrives meanwhile is read by that pass, forwarded, or both: the Gmail
id and the Message-ID per ticket make "both" one ticket.

Back to direct: the filter stays while the inbox is paused, the history cursor is set to Gmail's
current history id (getProfile, which a settings-only grant cannot call: it must be re-consented
first), and the inbox resumes. Mail before that cursor was forwarded; mail after it is read, and
forwarded too until the filter is removed, which dedupe makes harmless.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from connector.forwarding import states
from connector.gmail.port import GmailError
from connector.store.addresses import get_external
from connector.store.db import session_scope
from connector.store.inboxes import INBOX_MODES, get_inbox
from connector.store.types import utcnow
from connector.collaborators import Collaborators
from jobs.push_watch import stop_watch
from jobs.sync_inbox import sync_inbox


class ModeError(Exception):
    """The switch cannot be made now; nothing was changed, and the message says what to do first."""


@dataclass(frozen=True)
class ModeSwitch:
    address: str
    mode: str
    detail: str

    def __str__(self) -> str:
        return f"{self.address} is now {self.mode}: {self.detail}"


def switch_mode(runtime: Collaborators, address: str, mode: str, now: Callable[[], datetime] = utcnow) -> ModeSwitch:
    if mode not in INBOX_MODES:
        raise ModeError(f"mode must be one of {', '.join(INBOX_MODES)}, not {mode!r}")
    address = address.strip().lower()
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        if inbox is None:
            raise ModeError(f"no connected inbox {address}")
        current, state = inbox.mode, inbox.state
        external = get_external(session, address)
        verified = external is not None and external.state == states.VERIFIED
    if current == mode:
        return ModeSwitch(address, mode, "nothing to change")
    if mode == "forwarding":
        return _to_forwarding(runtime, address, verified, now)
    return _to_direct(runtime, address, state, now)


def _to_forwarding(runtime: Collaborators, address: str, verified: bool, now: Callable[[], datetime]) -> ModeSwitch:
    if not verified:
        raise ModeError(f"the forwarding of {address} is not verified, so mail would stop arriving: run "
                        f"gmail-connector forwarding setup {address}, then forwarding verify {address}, first")
    report = sync_inbox(runtime, address, now=now, force=True)
    if not report.ok:
        raise ModeError(f"the last pass over {address} failed ({report.error}); nothing was switched, try again")
    if runtime.settings.push_enabled:
        stop_watch(runtime, address, now)     # while the grant can still read: a settings-only one cannot
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        inbox.mode, inbox.updated_at = "forwarding", now()
        session.add(inbox)
    return ModeSwitch(address, "forwarding", f"the last pass read {report.imported} message(s); from now on its mail "
                                             "arrives forwarded and it is never synced")


def _to_direct(runtime: Collaborators, address: str, state: str, now: Callable[[], datetime]) -> ModeSwitch:
    _set(runtime, address, mode="direct", state="paused")        # no pass may run on the old cursor
    try:
        gateway = runtime.open_gateway(address)
        try:
            history_id = gateway.profile().history_id
        finally:
            gateway.close()
    except GmailError as exc:
        _set(runtime, address, mode="forwarding", state=state)
        raise ModeError(f"{address}'s grant cannot read its mail ({exc}); nothing was switched: consent again with "
                        f"reading scopes (gmail-connector auth add {address} --client-secrets FILE, or a service "
                        "account authorised for them), then run this again") from None
    _set(runtime, address, state=state, history_id=history_id,
         backfill_done=True, now=now())
    return ModeSwitch(address, "direct", f"read from Gmail history {history_id} on; mail before it was forwarded. "
                                         f"Its forwarding still works (duplicates are skipped); remove it in Gmail "
                                         f"and with gmail-connector addresses remove {address} when you like")


def _set(runtime: Collaborators, address: str, now: datetime | None = None, **changes) -> None:
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        for name, value in changes.items():
            setattr(inbox, name, value)
        inbox.updated_at = now or utcnow()
        session.add(inbox)
