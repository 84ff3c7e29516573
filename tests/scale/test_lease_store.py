"""The lease table: one holder per inbox, expiry frees a lease, renewal and release are holder-only."""
from __future__ import annotations

import threading

from connector.store import leases
from connector.store.db import session_scope
from tests.scale.conftest import T0, TTL, add_inboxes


def _claim(engine, holder, limit, now=T0):
    with session_scope(engine) as session:
        leases.ensure_lease_rows(session)
        return leases.claim(session, holder, now, TTL, limit)


def test_two_daemons_claim_disjoint_leases_up_to_their_limit(engine):
    addresses = add_inboxes(engine, 5)
    first = _claim(engine, "a:1:x", 3)
    second = _claim(engine, "b:2:y", 10)
    assert first == addresses[:3]
    assert second == addresses[3:]
    assert _claim(engine, "c:3:z", 10) == []


def test_an_expired_lease_is_taken_over_and_its_old_holder_can_no_longer_renew_it(engine):
    [address] = add_inboxes(engine, 1)
    _claim(engine, "a:1:x", 1)
    assert _claim(engine, "b:2:y", 1, now=T0 + TTL / 2) == []
    assert _claim(engine, "b:2:y", 1, now=T0 + TTL) == [address]
    with session_scope(engine) as session:
        assert leases.renew(session, "a:1:x", T0 + TTL, TTL, [address]) == 0
        assert leases.renew(session, "b:2:y", T0 + TTL, TTL, [address]) == 1
        rows = leases.lease_rows(session, now=T0 + TTL)
    assert rows == {address: {"holder": "b:2:y", "since": "2026-03-01T09:00:30Z",
                              "expires_at": "2026-03-01T09:01:00Z", "expired": False}}


def test_renewal_keeps_a_lease_from_expiring(engine):
    [address] = add_inboxes(engine, 1)
    _claim(engine, "a:1:x", 1)
    with session_scope(engine) as session:
        assert leases.renew(session, "a:1:x", T0 + TTL / 2, TTL) == 1
    assert _claim(engine, "b:2:y", 1, now=T0 + TTL) == []
    with session_scope(engine) as session:
        assert leases.held_by(session, "a:1:x") == {address: "active"}


def test_paused_inboxes_are_never_claimed(engine):
    add_inboxes(engine, 2, state="paused")
    active = add_inboxes(engine, 1, prefix="billing")
    assert _claim(engine, "a:1:x", 10) == active


def test_release_and_forget_hand_leases_back_at_once(engine):
    addresses = add_inboxes(engine, 3)
    _claim(engine, "a:1:x", 3)
    with session_scope(engine) as session:
        leases.beat(session, "a:1:x", T0)
        assert leases.release(session, "a:1:x", [addresses[0]]) == 1
        assert leases.release(session, "b:2:y") == 0       # someone else's leases are not theirs to drop
    assert _claim(engine, "b:2:y", 10) == addresses[:1]
    with session_scope(engine) as session:
        leases.forget_daemon(session, "a:1:x")
        assert leases.daemon_ids(session) == []
        assert set(leases.lease_rows(session)) == {addresses[0]}
    assert _claim(engine, "b:2:y", 10) == addresses[1:]


def test_heartbeats_tell_live_daemons_from_dead_ones(engine):
    with session_scope(engine) as session:
        leases.beat(session, "a:1:x", T0)
        leases.beat(session, "b:2:y", T0 + TTL)
    with session_scope(engine) as session:
        assert [d.id for d in leases.live_daemons(session, T0 + TTL + TTL / 2, TTL)] == ["b:2:y"]
        assert leases.prune_daemons(session, T0 + 3 * TTL, 2 * TTL) == 1
        assert leases.daemon_ids(session) == ["b:2:y"]


def test_daemons_claiming_at_the_same_moment_never_share_an_inbox(engine):
    # Eight claimers race for forty leases; SKIP LOCKED (PostgreSQL) or the write lock (SQLite)
    # must leave every inbox with exactly one of them.
    addresses = add_inboxes(engine, 40)
    with session_scope(engine) as session:
        leases.ensure_lease_rows(session)
    results: dict[str, list[str]] = {}
    start = threading.Barrier(8)

    def claimer(name: str) -> None:
        start.wait()
        got: list[str] = []
        for _ in range(10):
            got += _claim(engine, name, 1)
        results[name] = got

    threads = [threading.Thread(target=claimer, args=(f"host:{n}:t",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    claimed = [a for got in results.values() for a in got]
    assert sorted(claimed) == addresses
    with session_scope(engine) as session:
        rows = leases.lease_rows(session)
    assert all(rows[a]["holder"] in results and a in results[rows[a]["holder"]] for a in addresses)
