"""Lease rounds: a lone daemon takes everything, a newcomer gets its share, a dead daemon's inboxes move."""
from __future__ import annotations

import pytest

from connector.store import leases
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from jobs.leases import LeaseKeeper, gone_from_this_host, fair_share
from tests.scale.conftest import Clock, add_inboxes

TTL_SECONDS = 30


def _keeper(engine, clock, name):
    return LeaseKeeper(engine, TTL_SECONDS, daemon_id=f"host-{name}:1{name}:tok", now=clock)


def test_fair_share_is_an_even_split_plus_slack():
    assert fair_share(12, 3) == 5
    assert fair_share(1000, 2) == 501
    assert fair_share(10, 0) == 11        # before its first beat a daemon counts itself
    assert fair_share(0, 4, slack=0) == 0


def test_a_lone_daemon_holds_every_inbox(engine):
    addresses = add_inboxes(engine, 6)
    result = _keeper(engine, Clock(), "a").round()
    assert sorted(result.held) == addresses and result.live == 1 and result.share == 7


def test_a_newcomer_gets_its_share_from_a_daemon_holding_too_many(engine):
    add_inboxes(engine, 12)
    clock = Clock()
    first, second = _keeper(engine, clock, "a"), _keeper(engine, clock, "b")
    assert len(first.round().held) == 12
    assert second.round().held == {}                 # nothing free yet
    clock.advance(5)
    shed = first.round()
    assert (len(shed.held), len(shed.released), shed.share) == (7, 5, 7)
    assert len(second.round().held) == 5
    with session_scope(engine) as session:
        holders = [row["holder"] for row in leases.lease_rows(session).values()]
    assert len(holders) == 12 and set(holders) == {first.daemon_id, second.daemon_id}


def test_a_busy_inbox_is_never_let_go(engine):
    addresses = add_inboxes(engine, 4)
    clock = Clock()
    first, second = _keeper(engine, clock, "a"), _keeper(engine, clock, "b")
    first.round()
    second.round()
    shed = first.round(busy=set(addresses))
    assert shed.released == [] and len(shed.held) == 4


def test_a_dead_daemons_inboxes_are_taken_over_once_its_leases_expire(engine):
    addresses = add_inboxes(engine, 9)
    clock = Clock()
    keepers = [_keeper(engine, clock, name) for name in "abc"]
    for _ in range(2):
        for keeper in keepers:
            keeper.round()
    dead, *alive = keepers
    lost = set(dead.round().held)
    assert lost
    for step in range(3):             # heartbeats every TTL/3; `dead` has stopped beating
        clock.advance(TTL_SECONDS / 3)
        held = [set(k.round().held) for k in alive]
    assert held[0] | held[1] == set(addresses) and not held[0] & held[1]
    assert not dead.renew_one(sorted(lost)[0])


def test_a_pass_needs_the_lease_and_a_clean_stop_hands_everything_back(engine):
    [address] = add_inboxes(engine, 1)
    clock = Clock()
    first, second = _keeper(engine, clock, "a"), _keeper(engine, clock, "b")
    first.round()
    second.round()
    assert first.renew_one(address) and not second.renew_one(address)
    first.release_all()
    assert second.round().held == {address: "active"}
    with session_scope(engine) as session:
        assert leases.daemon_ids(session) == [second.daemon_id]


def test_leases_of_paused_inboxes_are_let_go(engine):
    [address] = add_inboxes(engine, 1)
    keeper = _keeper(engine, Clock(), "a")
    keeper.round()
    with session_scope(engine) as session:
        get_inbox(session, address).state = "paused"
    result = keeper.round()
    assert result.released == [address] and result.held == {}


@pytest.mark.parametrize("other, gone", [
    ("web1:4242:abcd.1", True),        # same host, that process has exited
    ("web1:{pid}:abcd.1", True),       # same host and pid, earlier process (a restarted container)
    ("web1:{pid}:{token}.2", False),   # another daemon inside this very process
    ("web2:4242:abcd.1", False),       # another machine: only the TTL can tell
    ("garbage", False),
])
def test_only_sqlite_daemons_on_this_host_are_declared_dead_early(other, gone):
    import os

    from jobs.leases import PROCESS_TOKEN

    mine = f"web1:{os.getpid()}:{PROCESS_TOKEN}.1"
    assert gone_from_this_host(other.format(pid=os.getpid(), token=PROCESS_TOKEN), mine) is gone
