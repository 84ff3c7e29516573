"""Connected inboxes: adding, finding, pausing, and recording how each sync went."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from connector.store.models import Credential, Inbox, RawMail, Ticket, TicketThread
from connector.store.types import utcnow

INBOX_STATES = ("active", "paused", "needs_reauth", "error")
INBOX_MODES = ("direct", "forwarding")
CREDENTIAL_KINDS = ("authorized_user", "service_account")
# Failures only a person can fix by consenting again; everything else is retried after a backoff.
REAUTH_ERROR_KINDS = frozenset({"auth_revoked", "insufficient_scope"})
MAX_ERROR_CHARS = 2000


class InboxExists(ValueError):
    """An inbox with this address is already connected."""


def add_inbox(session: Session, address: str, *, group: str = "Support", mode: str = "direct",
              credential_kind: str = "authorized_user", credential_ref: str = "",
              poll_interval_seconds: int | None = None, now: datetime | None = None) -> Inbox:
    _check(mode, INBOX_MODES, "mode")
    _check(credential_kind, CREDENTIAL_KINDS, "credential kind")
    if get_inbox(session, address) is not None:
        raise InboxExists(f"{address.lower()} is already connected")
    now = now or utcnow()
    inbox = Inbox(address=address.strip().lower(), group=group, mode=mode, credential_kind=credential_kind,
                  credential_ref=credential_ref, poll_interval_seconds=poll_interval_seconds,
                  created_at=now, updated_at=now)
    session.add(inbox)
    session.flush()
    return inbox


def get_inbox(session: Session, address: str) -> Inbox | None:
    return session.exec(select(Inbox).where(Inbox.address == address.strip().lower())).first()


def list_inboxes(session: Session) -> list[Inbox]:
    return list(session.exec(select(Inbox).order_by(Inbox.address)))


def set_state(session: Session, inbox: Inbox, state: str, now: datetime | None = None) -> None:
    _check(state, INBOX_STATES, "state")
    inbox.state, inbox.updated_at = state, now or utcnow()
    session.add(inbox)


def record_success(session: Session, inbox: Inbox, now: datetime | None = None, *,
                   history_id: str | None = None, imported: int = 0, backfill_done: bool | None = None,
                   next_run_at: datetime | None = None) -> None:
    """A sync finished: move the cursor (in the same transaction as the work it covers)."""
    now = now or utcnow()
    if history_id is not None and not _older(history_id, inbox.history_id):
        # A pass that outlived its lease may finish after a newer one: the cursor never goes back.
        inbox.history_id = history_id
    if backfill_done is not None:
        inbox.backfill_done = backfill_done
    inbox.imported_total += imported
    inbox.last_sync_at = inbox.last_success_at = inbox.updated_at = now
    inbox.consecutive_failures, inbox.backoff_until, inbox.next_run_at = 0, None, next_run_at
    if inbox.state in ("error", "needs_reauth"):
        inbox.state = "active"
    session.add(inbox)


def record_failure(session: Session, inbox: Inbox, error_kind: str, message: str,
                   backoff_until: datetime | None, now: datetime | None = None) -> None:
    """A sync failed. `message` must already be free of secrets (Gmail port errors are)."""
    now = now or utcnow()
    inbox.last_error = f"{error_kind}: {message}"[:MAX_ERROR_CHARS]
    inbox.last_error_at = inbox.last_sync_at = inbox.updated_at = now
    inbox.consecutive_failures += 1
    inbox.backoff_until = inbox.next_run_at = backoff_until
    if error_kind in REAUTH_ERROR_KINDS and inbox.state != "paused":
        inbox.state = "needs_reauth"
    session.add(inbox)


def remove_inbox(session: Session, address: str) -> bool:
    """Disconnect an inbox and forget its grant; its tickets and raw mail stay."""
    inbox = get_inbox(session, address)
    if inbox is None:
        return False
    session.exec(update(Ticket).where(Ticket.inbox_id == inbox.id).values(inbox_id=None))
    session.exec(update(RawMail).where(RawMail.inbox_id == inbox.id).values(inbox_id=None))
    session.exec(delete(TicketThread).where(TicketThread.inbox_id == inbox.id))
    session.exec(delete(Credential).where(Credential.inbox_id == inbox.id))
    session.delete(inbox)
    session.flush()
    return True


def _older(candidate: str, current: str | None) -> bool:
    if current is None or not (candidate.isdigit() and current.isdigit()):
        return False
    return int(candidate) < int(current)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")

