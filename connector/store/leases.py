"""Inbox leases and daemon heartbeats in the shared store: who syncs which inbox, and who is alive.

Every statement is safe with several daemons on one PostgreSQL: leases are taken with
`SELECT ... FOR UPDATE SKIP LOCKED` (SQLite ignores the clause, but its BEGIN IMMEDIATE already
serialises writers), and every write re-checks its condition, so a lease has one holder at a time.
Timestamps come from the daemons' clocks; keep them in NTP sync (skew eats into the TTL).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from connector.store.lease_models import DaemonBeat, InboxLease
from connector.store.models import Inbox
from connector.store.types import iso_utc

# The inbox states a daemon schedules passes for; leases of other inboxes are let go.
SYNCED_STATES = ("active", "error")
# What held_by reports for a forwarded address (Inbox.mode "forwarding"), whatever its state: it is
# never synced, so a daemon neither claims it nor keeps a lease on it.
FORWARDED = "forwarded"


def _synced():
    return and_(Inbox.state.in_(SYNCED_STATES), Inbox.mode != "forwarding")


def beat(session: Session, daemon_id: str, now: datetime) -> None:
    """Record that `daemon_id` is alive (insert on its first beat)."""
    row = session.get(DaemonBeat, daemon_id)
    if row is None:
        session.add(DaemonBeat(id=daemon_id, started_at=now, last_seen=now))
    else:
        row.last_seen = now
        session.add(row)
    session.flush()


def live_daemons(session: Session, now: datetime, ttl: timedelta) -> list[DaemonBeat]:
    return list(session.exec(select(DaemonBeat).where(DaemonBeat.last_seen > now - ttl).order_by(DaemonBeat.id)))


def daemon_ids(session: Session) -> list[str]:
    return list(session.exec(select(DaemonBeat.id).order_by(DaemonBeat.id)))


def forget_daemon(session: Session, daemon_id: str) -> None:
    """A clean stop: the daemon's leases are released and its heartbeat row removed."""
    release(session, daemon_id)
    session.exec(delete(DaemonBeat).where(DaemonBeat.id == daemon_id))


def prune_daemons(session: Session, now: datetime, older_than: timedelta) -> int:
    """Drop heartbeat rows of daemons long gone (killed ones never remove their own)."""
    return session.exec(delete(DaemonBeat).where(DaemonBeat.last_seen < now - older_than)).rowcount


def synced_inbox_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Inbox).where(_synced())).one())


def ensure_lease_rows(session: Session) -> None:
    """One lease row per inbox, created free; concurrent daemons may race here harmlessly."""
    missing = select(Inbox.id).where(Inbox.id.not_in(select(InboxLease.inbox_id)))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(InboxLease).from_select(["inbox_id"], missing).on_conflict_do_nothing()
    session.exec(statement)


def _free(now: datetime):
    return or_(InboxLease.holder.is_(None), InboxLease.expires_at.is_(None), InboxLease.expires_at <= now)


def claim(session: Session, holder: str, now: datetime, ttl: timedelta, limit: int) -> list[str]:
    """Take up to `limit` free or expired leases of synced inboxes; returns their addresses."""
    if limit <= 0:
        return []
    candidates = (select(InboxLease.inbox_id).join(Inbox, Inbox.id == InboxLease.inbox_id)
                  .where(_free(now), _synced())
                  .order_by(InboxLease.inbox_id).limit(limit)
                  # Rows another daemon is taking right now are skipped, not waited for.
                  .with_for_update(skip_locked=True, of=InboxLease))
    ids = list(session.exec(candidates))
    if not ids:
        return []
    session.exec(update(InboxLease).where(InboxLease.inbox_id.in_(ids), _free(now))
                 .values(holder=holder, acquired_at=now, expires_at=now + ttl))
    return _addresses(session, holder, ids)


def renew(session: Session, holder: str, now: datetime, ttl: timedelta, addresses: Iterable[str] | None = None) -> int:
    """Push back the expiry of `holder`'s leases (all, or those given); returns how many it still holds."""
    statement = update(InboxLease).where(InboxLease.holder == holder).values(expires_at=now + ttl)
    if addresses is not None:
        statement = statement.where(InboxLease.inbox_id.in_(_ids_of(addresses)))
    return session.exec(statement).rowcount


def release(session: Session, holder: str, addresses: Iterable[str] | None = None) -> int:
    statement = update(InboxLease).where(InboxLease.holder == holder).values(
        holder=None, acquired_at=None, expires_at=None)
    if addresses is not None:
        statement = statement.where(InboxLease.inbox_id.in_(_ids_of(addresses)))
    return session.exec(statement).rowcount


def held_by(session: Session, holder: str) -> dict[str, str]:
    """Addresses whose lease `holder` has, with each inbox's state."""
    query = (select(Inbox.address, Inbox.state, Inbox.mode).join(InboxLease, InboxLease.inbox_id == Inbox.id)
             .where(InboxLease.holder == holder))
    return {address: FORWARDED if mode == "forwarding" else state for address, state, mode in session.exec(query)}


def lease_rows(session: Session, now: datetime | None = None) -> dict[str, dict]:
    """For the status endpoint: which daemon holds which inbox, since when, until when."""
    query = (select(Inbox.address, InboxLease.holder, InboxLease.acquired_at, InboxLease.expires_at)
             .join(InboxLease, InboxLease.inbox_id == Inbox.id).where(InboxLease.holder.is_not(None))
             .order_by(Inbox.address))
    return {address: {"holder": holder, "since": iso_utc(since), "expires_at": iso_utc(expires),
                      "expired": bool(now and expires and expires <= now)}
            for address, holder, since, expires in session.exec(query)}


def _ids_of(addresses: Iterable[str]):
    return select(Inbox.id).where(Inbox.address.in_([a.strip().lower() for a in addresses]))


def _addresses(session: Session, holder: str, ids: list[int]) -> list[str]:
    query = (select(Inbox.address).join(InboxLease, InboxLease.inbox_id == Inbox.id)
             .where(InboxLease.inbox_id.in_(ids), InboxLease.holder == holder).order_by(Inbox.address))
    return list(session.exec(query))
