"""The DNS health job against a local DNS server: every external domain checked once and its verdict kept."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dns.rcode
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

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
GOOD = {
    "masociete.com": ["v=spf1 include:_spf.google.com ~all"],
    "google._domainkey.masociete.com": ["v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    "_dmarc.masociete.com": ["v=DMARC1; p=quarantine"],
}
BROKEN = {"bare.example": ["v=spf1 include:spf.protection.outlook.com -all"]}


class SilentFor(TinyDns):
    """Answers SERVFAIL for one domain, as a broken authoritative server would; the rest as usual."""

    def __init__(self, zone, failing: str):
        super().__init__(zone)
        self.failing = failing

    def _answer(self, query):
        response = super()._answer(query)
        if self.queries[-1].endswith(self.failing):
            response.answer.clear()
            response.set_rcode(dns.rcode.SERVFAIL)
        return response


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
    assert sorted(server.queries) == sorted(["masociete.com", "google._domainkey.masociete.com", "_dmarc.masociete.com",
                                             "bare.example", "google._domainkey.bare.example", "_dmarc.bare.example"])
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
    with SilentFor(GOOD | BROKEN, failing="bare.example") as server:
        verdicts = check_dns_health(runtime(server.address), NOW, timeout=1)
    assert verdicts == {"bare.example": "warn", "masociete.com": "ok"}
    with session_scope(runtime("").engine) as session:
        bare = dns_health_by_domain(session)["bare.example"]
    assert "no answer for" in bare["error"] and "bare.example" in bare["error"]
    assert (bare["spf"], bare["dkim"], bare["dmarc"]) == (None, None, None)  # nothing is known about them


def test_a_later_check_replaces_the_earlier_one(runtime):
    fixed = {"bare.example": ["v=spf1 include:_spf.google.com -all"], "s1._domainkey.bare.example": ["p=ABC"],
             "_dmarc.bare.example": ["v=DMARC1; p=none"]}
    with TinyDns(GOOD | BROKEN) as server:
        check_dns_health(runtime(server.address), NOW)
    with TinyDns(GOOD | fixed | {"s1._domainkey.masociete.com": ["p=XYZ"]}) as server:
        # DKIM_SELECTOR names the key the relay signs with, so that is the one looked up.
        verdicts = check_dns_health(runtime(server.address, dkim_selector="s1"), NOW + timedelta(hours=6))
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
