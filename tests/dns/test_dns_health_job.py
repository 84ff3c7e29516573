"""The DNS health job against a local DNS server: every external domain checked once and its verdict kept."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.addresses import add_external_address
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.dns_health import dns_health_by_domain
from connector.store.dns_models import DnsCheck
from jobs.dns_health import check_dns_health
from tiny_dns import TinyDns  # tests/dns is not a package: "dns" must stay dnspython
from zones import dkim_value, private_pem, workspace

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
GOOD = workspace("masociete.com")
BROKEN = {"bare.example": ["v=spf1 include:spf.protection.outlook.com -all"],
          "spf.protection.outlook.com": ["v=spf1 ip4:40.92.0.0/15 -all"]}


@pytest.fixture
def runtime(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        for external, support in (("billing@masociete.com", "billing@help.test"),
                                  ("contact@MaSociete.com", "contact@help.test"),
                                  ("hello@bare.example", "hello@help.test")):
            add_external_address(session, external, support, "Support", NOW)
    yield lambda resolver, **settings: Runtime(settings=Settings(dns_resolver=resolver, **settings), engine=engine)
    engine.dispose()


def test_each_external_domain_is_checked_once_and_its_fixes_are_kept(runtime):
    with TinyDns(GOOD | BROKEN) as server:
        verdicts = check_dns_health(runtime(server.address), NOW)
    assert verdicts == {"bare.example": "fail", "masociete.com": "ok"}
    # Each domain's records are asked for once, however many of its addresses there are.
    asked = [name for name, rdtype in server.asked if rdtype == "TXT"]
    for domain in ("masociete.com", "bare.example"):
        assert [asked.count(name) for name in (domain, f"google._domainkey.{domain}", f"_dmarc.{domain}")] == [1, 1, 1]
    with session_scope(runtime("").engine) as session:
        health = dns_health_by_domain(session)
    good, bare = health["masociete.com"], health["bare.example"]
    assert (good["checked_at"], good["overall"], good["error"]) == ("2024-05-01T12:00:00Z", "ok", None)
    assert {name: good[name]["status"] for name in ("spf", "dkim", "dmarc")} == \
        {"spf": "ok", "dkim": "ok", "dmarc": "ok"}
    assert {name: bare[name]["status"] for name in ("spf", "dkim", "dmarc")} == \
        {"spf": "wrong", "dkim": "missing", "dmarc": "missing"}
    assert "include:_spf.google.com" in bare["spf"]["fix"]
    assert bare["dmarc"]["fix"].startswith('publish TXT _dmarc.bare.example "v=DMARC1')


def test_a_domain_whose_lookup_fails_is_a_warning_and_the_others_are_still_checked(runtime):
    with TinyDns(GOOD | BROKEN, down="servfail", down_for=("bare.example",)) as server:
        verdicts = check_dns_health(runtime(server.address), NOW, timeout=1)
    assert verdicts == {"bare.example": "warn", "masociete.com": "ok"}
    with session_scope(runtime("").engine) as session:
        bare = dns_health_by_domain(session)["bare.example"]
    assert "no answer for" in bare["error"] and "bare.example" in bare["error"]
    assert (bare["spf"], bare["dkim"], bare["dmarc"]) == (None, None, None)  # nothing is known about them


def test_a_later_check_replaces_the_earlier_one(runtime, tmp_path):
    key = tmp_path / "dkim.pem"
    key.write_bytes(private_pem("ours"))
    relay = {"smtp.relay.test": {"A": ["198.51.100.7"]}}
    fixed = {"bare.example": ["v=spf1 ip4:198.51.100.7 -all"], "s1._domainkey.bare.example": [dkim_value("ours")],
             "_dmarc.bare.example": ["v=DMARC1; p=none"]}
    with TinyDns(GOOD | BROKEN) as server:
        check_dns_health(runtime(server.address), NOW)
    both = workspace("masociete.com", spf="v=spf1 include:_spf.google.com ip4:198.51.100.7 -all") | \
        {"s1._domainkey.masociete.com": [dkim_value("ours")]}
    with TinyDns(both | fixed | relay) as server:
        # With a relay, bare.example's replies go only through it (its mail is not at Google), signed
        # with DKIM_SELECTOR's key: so that key is the one looked up and compared.
        verdicts = check_dns_health(runtime(server.address, smtp_relay_url="smtp://smtp.relay.test:587",
                                            dkim_selector="s1", dkim_private_key_file=str(key)),
                                    NOW + timedelta(hours=6))
    assert ("google._domainkey.bare.example", "TXT") not in server.asked
    assert verdicts == {"bare.example": "warn", "masociete.com": "ok"}   # DMARC p=none passes, weakly
    with session_scope(runtime("").engine) as session:
        rows = session.exec(select(DnsCheck.domain, DnsCheck.overall, DnsCheck.checked_at)).all()
    assert sorted(rows) == [("bare.example", "warn", NOW + timedelta(hours=6)),
                            ("masociete.com", "ok", NOW + timedelta(hours=6))]


def test_a_malformed_resolver_setting_is_recorded_not_raised(runtime):
    assert check_dns_health(runtime("127.0.0.1:notaport"), NOW) == {"bare.example": "warn", "masociete.com": "warn"}
    with session_scope(runtime("").engine) as session:
        assert dns_health_by_domain(session)["masociete.com"]["error"].startswith("DNS_RESOLVER is not HOST[:PORT]")


def test_no_external_addresses_means_nothing_is_looked_up(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    try:
        with TinyDns(GOOD) as server:
            assert check_dns_health(Runtime(settings=Settings(dns_resolver=server.address), engine=engine), NOW) == {}
        assert server.queries == []
    finally:
        engine.dispose()
