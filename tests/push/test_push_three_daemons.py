"""Three daemons with push on one PostgreSQL pull one subscription: every mail once, each inbox synced
by its lease holder, whichever daemon pulled its notification."""
from __future__ import annotations

from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlmodel import select

from connector import demo_mail
from connector.store.db import session_scope
from connector.store.leases import lease_rows
from connector.store.models import Inbox, RawMail
from oauth.vault import new_key
from tests.push.conftest import BILLING, CUSTOMER, SUPPORT, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
PER_INBOX = 12


def _mail(to: str, seed: int) -> bytes:
    msg = message_from_bytes(demo_mail.customer_mail(to, seed), policy=default_policy)
    del msg["From"]
    msg["From"] = f"customer{seed}@example.org"      # one sender each: no mail-loop hold-back
    return bytes(msg)


@pytest.fixture
def postgres_world(world, throwaway_postgres):
    world.database_url = throwaway_postgres.create()
    return world


def test_three_daemons_share_the_subscription_and_every_mail_is_ticketed_once(postgres_world, sandbox):
    world, key = postgres_world, new_key()
    runtimes = [world.runtime(token_encryption_key=key) for _ in range(3)]
    addresses = (SUPPORT, BILLING, CUSTOMER)
    for address in addresses:
        world.connect(runtimes[0], address)
    for runtime in runtimes:
        world.start_daemon(runtime)
    for address in addresses:
        wait_for(lambda a=address: (r := world.watch_row(runtimes[0], a)) and r.expiration, 20, f"{address} watched")
        wait_for(lambda a=address: world.cursor(runtimes[0], a), 20, f"{address} synced once")

    for seed in range(PER_INBOX):
        for address in addresses:
            sandbox.core.deliver(address, _mail(address, 1000 * (addresses.index(address) + 1) + seed))

    def stored() -> Counter:
        with session_scope(runtimes[0].engine) as session:
            rows = session.exec(select(Inbox.address, RawMail.gmail_id).join(Inbox, Inbox.id == RawMail.inbox_id))
            return Counter(address for address, _ in rows)
    wait_for(lambda: stored() == Counter({a: PER_INBOX for a in addresses}), 30, "every mail stored")
    with session_scope(runtimes[0].engine) as session:
        ids = list(session.exec(select(RawMail.gmail_id).where(RawMail.inbox_id.is_not(None))))
        holders = {address: row["holder"] for address, row in lease_rows(session).items()}
    assert len(ids) == len(set(ids)) == 3 * PER_INBOX            # exactly once
    assert all(holders.get(a) for a in addresses)
    # Passes ran by push (polls are an hour apart): only the holder syncs, so history.list was called
    # a few times per inbox, never thirty-six.
    for address in addresses:
        assert sandbox.core.quota.calls[address]["history.list"] <= PER_INBOX
