"""Sharing inboxes between daemons: each daemon's lease round — heartbeat, renew, claim its share, shed the rest.

A daemon claims at most ceil(synced inboxes / live daemons) + SLACK, so a daemon that starts
later finds leases set free by the others, and one that dies (no heartbeat, leases not renewed)
has its inboxes claimed by the survivors once its leases expire.
"""
from __future__ import annotations

import itertools
import logging
import math
import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Collection

from sqlalchemy.engine import Engine

from connector.store import leases as store
from connector.store.db import session_scope
from connector.store.types import utcnow

log = logging.getLogger(__name__)
SLACK = 1                      # room above an even share, so leases do not flap between daemons
FORGET_AFTER_TTLS = 20         # heartbeat rows of dead daemons are pruned after this many TTLs


# Tells this process apart from an earlier one that had the same pid (a restarted container is pid 1 again).
PROCESS_TOKEN = secrets.token_hex(4)
_instances = itertools.count(1)


def new_daemon_id() -> str:
    """hostname:pid:random, where random is this process's token and a counter of daemons in it."""
    return f"{socket.gethostname()}:{os.getpid()}:{PROCESS_TOKEN}.{next(_instances)}"


def fair_share(synced: int, live: int, slack: int = SLACK) -> int:
    return math.ceil(synced / max(live, 1)) + slack


@dataclass
class LeaseRound:
    """What one round left this daemon holding, and what changed."""
    held: dict[str, str] = field(default_factory=dict)    # address -> inbox state
    claimed: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    share: int = 0
    live: int = 0


class LeaseKeeper:
    """One daemon's view of its leases; every method is one short transaction."""

    def __init__(self, engine: Engine, ttl_seconds: int, daemon_id: str | None = None,
                 now: Callable[[], datetime] = utcnow, slack: int = SLACK):
        self.engine, self.now, self.slack = engine, now, slack
        self.ttl = timedelta(seconds=ttl_seconds)
        self.daemon_id = daemon_id or new_daemon_id()

    def round(self, busy: Collection[str] = ()) -> LeaseRound:
        """Beat, renew, then claim up to the fair share or let go of what is above it (never a busy inbox)."""
        now, result = self.now(), LeaseRound()
        with session_scope(self.engine) as session:
            store.beat(session, self.daemon_id, now)
            if session.get_bind().dialect.name == "sqlite":
                _reap_local_dead(session, self.daemon_id)
            store.prune_daemons(session, now, self.ttl * FORGET_AFTER_TTLS)
            store.ensure_lease_rows(session)
            store.renew(session, self.daemon_id, now, self.ttl)
            result.live = len(store.live_daemons(session, now, self.ttl))
            result.share = fair_share(store.synced_inbox_count(session), result.live, self.slack)
            held = store.held_by(session, self.daemon_id)
            idle = sorted((a for a, state in held.items() if state not in store.SYNCED_STATES and a not in busy))
            synced = sorted(a for a, state in held.items() if state in store.SYNCED_STATES)
            excess = [a for a in reversed(synced) if a not in busy][:max(0, len(synced) - result.share)]
            result.released = idle + excess
            if result.released:
                store.release(session, self.daemon_id, result.released)
            result.claimed = store.claim(session, self.daemon_id, now, self.ttl, result.share - len(synced))
            result.held = store.held_by(session, self.daemon_id)
        if result.claimed or result.released:
            log.info("leases: claimed %d, released %d, holding %d (share %d of %d live daemons)",
                     len(result.claimed), len(result.released), len(result.held), result.share, result.live)
        return result

    def renew_one(self, address: str) -> bool:
        """Before a pass: extend this inbox's lease; False when another daemon holds it now."""
        with session_scope(self.engine) as session:
            return store.renew(session, self.daemon_id, self.now(), self.ttl, [address]) == 1

    def release_all(self) -> None:
        """A clean stop: hand every inbox back at once instead of after the TTL."""
        with session_scope(self.engine) as session:
            store.forget_daemon(session, self.daemon_id)


def _reap_local_dead(session, my_id: str) -> None:
    """SQLite lives on one machine: a holder on this host whose process is gone is dead now, not after the TTL.

    Only done for SQLite: on a shared PostgreSQL two machines may share a host name.
    """
    for other in store.daemon_ids(session):
        if other != my_id and gone_from_this_host(other, my_id):
            store.forget_daemon(session, other)


def gone_from_this_host(other: str, mine: str) -> bool:
    """`other` (a daemon id or claim) names a process on this host that no longer runs."""
    try:
        host, pid, token = other.rsplit(":", 2)
        my_host, my_pid, my_token = mine.rsplit(":", 2)
        other_pid = int(pid)
    except ValueError:
        return False            # not an id this code wrote: leave it to the TTL
    if host != my_host:
        return False
    if pid == my_pid:
        return token.split(".")[0] != my_token.split(".")[0]
    return not _process_alive(other_pid)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
