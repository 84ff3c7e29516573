"""The daemon schedules and runs passes only for inboxes whose lease it holds."""
from __future__ import annotations

import pytest

from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from jobs.daemon import Daemon
from tests.scale.conftest import Clock, add_inboxes


@pytest.fixture
def runtime(engine, tmp_path):
    return Runtime(settings=Settings(data_dir=tmp_path / "data", lease_ttl_seconds=30), engine=engine)


def _last_error(engine, address):
    with session_scope(engine) as session:
        return get_inbox(session, address).last_error


def test_only_the_lease_holder_runs_a_pass(runtime):
    # No credentials are stored, so a pass that really runs records "no stored credentials".
    [address] = add_inboxes(runtime.engine, 1)
    clock = Clock()
    first, second = Daemon(runtime, now=clock), Daemon(runtime, now=clock)
    first.refresh_jobs()
    second.refresh_jobs()
    assert first.next_run(address) is not None and second.next_run(address) is None
    with pytest.raises(LookupError, match="another daemon"):
        second.sync_now(address)

    second.run_pass(address)
    assert _last_error(runtime.engine, address) is None
    first.run_pass(address)
    assert "no stored credentials" in _last_error(runtime.engine, address)
    # Now waiting for a person to connect it again: nobody schedules it, nobody keeps its lease.
    first.refresh_jobs()
    assert first.next_run(address) is None and first.leases.round().held == {}
    first.stop()
    second.stop()


def test_a_clean_stop_hands_the_inboxes_over_at_once(runtime):
    addresses = add_inboxes(runtime.engine, 3)
    clock = Clock()
    first, second = Daemon(runtime, now=clock), Daemon(runtime, now=clock)
    first.refresh_jobs()
    second.refresh_jobs()
    assert all(first.next_run(a) for a in addresses)
    first.stop()
    second.refresh_jobs()
    assert all(second.next_run(a) for a in addresses)
    second.stop()


def test_a_pass_after_losing_the_lease_does_nothing_and_drops_the_inbox(runtime):
    [address] = add_inboxes(runtime.engine, 1)
    clock = Clock()
    first = Daemon(runtime, now=clock)
    first.refresh_jobs()
    clock.advance(31)                        # first stalled past its TTL ...
    second = Daemon(runtime, now=clock)
    second.refresh_jobs()                    # ... and second took the inbox over
    first.run_pass(address)
    assert _last_error(runtime.engine, address) is None
    first.refresh_jobs()
    assert first.next_run(address) is None and second.next_run(address) is not None
    first.stop()
    second.stop()
