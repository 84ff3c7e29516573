"""A runtime with three mapped support addresses and the real SMTP receiver on 127.0.0.1:0."""
from __future__ import annotations

import time

import pytest

from connector.bootstrap import bootstrap
from connector.inbound.server import InboundServer
from connector.settings import Settings
from connector.store.addresses import add_external_address
from connector.store.db import session_scope

DOMAIN = "helpdesk.example.com"
MAPPING = {"facturation@masociete.com": ("facturation@helpdesk.example.com", "Billing"),
           "aide@masociete.com": ("aide@helpdesk.example.com", "Support"),
           "ventes@masociete.com": ("ventes@helpdesk.example.com", "Sales")}
BILLING, SUPPORT, SALES = (support for support, _ in MAPPING.values())
MAX_BYTES = 4096


def map_addresses(runtime, mapping=MAPPING) -> None:
    with session_scope(runtime.engine) as session:
        for external, (support, group) in mapping.items():
            add_external_address(session, external, support, group)


@pytest.fixture
def runtime(tmp_path, database_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, inbound_domain=DOMAIN,
                        inbound_max_bytes=MAX_BYTES)
    runtime = bootstrap(settings)
    map_addresses(runtime)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def receiver(runtime):
    with InboundServer(runtime, "127.0.0.1", 0) as server:
        yield server


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
