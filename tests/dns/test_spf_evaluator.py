"""check_host() as RFC 7208 has a receiver run it, through our real resolver against a local DNS server."""
from __future__ import annotations

import pytest

from connector.dnscheck.lookup import ResolverLookup
from connector.dnscheck.spf import check_host
from tiny_dns import TinyDns  # tests/dns is not a package: "dns" must stay dnspython

ZONE = {
    "ex.test": {"TXT": ["v=spf1 mx/24 a:web.ex.test ptr:ex.test exists:%{ir}.%{v}._allow.%{d} "
                        "include:partner.test ip6:2001:db8:5::/48 -all"],
                "MX": ["mx1.ex.test", "mx2.ex.test"]},
    "mx1.ex.test": {"A": ["198.51.100.10"]},
    "mx2.ex.test": {"A": ["198.51.100.200"]},
    "web.ex.test": {"A": ["203.0.113.9"], "AAAA": ["2001:db8:9::9"]},
    "7.113.0.203.in-addr.arpa": {"PTR": ["out.ex.test"]},
    "out.ex.test": {"A": ["203.0.113.7"]},
    "5.113.0.203.in-addr._allow.ex.test": {"A": ["127.0.0.2"]},
    "partner.test": ["v=spf1 redirect=_spf.partner.test"],
    "_spf.partner.test": ["v=spf1 ip4:192.0.2.64/26 ?all"],
}


def evaluate(zone, ip, domain="ex.test", **kw):
    with TinyDns(zone, **kw) as server:
        return check_host(ip, domain, ResolverLookup.from_setting(server.address, timeout=0.5))


@pytest.mark.parametrize("ip, result, term", [
    ("198.51.100.77", "pass", "mx/24 at ex.test"),                     # mx with a /24 around mx1
    ("2001:db8:9::9", "pass", "a:web.ex.test at ex.test"),             # AAAA for an IPv6 client
    ("::ffff:203.0.113.9", "pass", "a:web.ex.test at ex.test"),        # IPv4-mapped: judged as IPv4
    ("203.0.113.7", "pass", "ptr:ex.test at ex.test"),                 # PTR name validated by its A record
    ("203.0.113.5", "pass", "exists:%{ir}.%{v}._allow.%{d} at ex.test"),  # macros expanded
    ("192.0.2.70", "pass", "include:partner.test at ex.test then ip4:192.0.2.64/26 at _spf.partner.test"),
    ("2001:db8:5::1", "pass", "ip6:2001:db8:5::/48 at ex.test"),
    ("192.0.2.1", "fail", "-all at ex.test"),                          # include's ?all is no match
])
def test_each_mechanism_matches_as_the_rfc_says(ip, result, term):
    got = evaluate(ZONE, ip)
    assert (got.result, got.reason) == (result, term)


def test_every_dns_querying_term_counts_and_includes_are_recorded():
    got = evaluate(ZONE, "192.0.2.1")
    # mx, a, ptr, exists, include, and the include's redirect: six of ten.
    assert (got.lookups, got.visited) == (6, ("partner.test", "_spf.partner.test"))


@pytest.mark.parametrize("record, reason", [
    ("v=spf1 include:nowhere.test -all", "include:nowhere.test has no SPF record"),
    ("v=spf1 redirect=nowhere.test", "redirect=nowhere.test leads to no SPF record"),
    ("v=spf1 ip4:999.0.0.1 -all", "bad network in 'ip4:999.0.0.1'"),
    ("v=spf1 frobnicate -all", "unknown SPF term 'frobnicate'"),
    ("v=spf1 exists:%{z}.ex.test -all", "invalid macro"),
    ("v=spf1 redirect=a.test redirect=b.test", "redirect= appears twice"),
])
def test_records_a_receiver_cannot_evaluate_are_permerrors(record, reason):
    got = evaluate({"ex.test": [record]}, "192.0.2.1")
    assert got.result == "permerror" and reason in got.reason


def test_two_spf_records_are_a_permerror_and_none_is_none():
    assert evaluate({"ex.test": ["v=spf1 -all", "v=spf1 ~all"]}, "192.0.2.1").result == "permerror"
    assert evaluate({"ex.test": ["google-site-verification=x"]}, "192.0.2.1").result == "none"
    assert evaluate({}, "192.0.2.1").result == "none"


def test_dns_trouble_inside_the_tree_is_a_temperror_not_a_verdict():
    got = evaluate(ZONE, "192.0.2.1", down="servfail", down_for=("partner.test",))
    assert got.result == "temperror" and "partner.test" in got.reason


def test_redirect_is_ignored_when_the_record_has_an_all():
    got = evaluate(ZONE | {"ex.test": ["v=spf1 ~all redirect=partner.test"]}, "192.0.2.70")
    assert (got.result, got.lookups) == ("softfail", 0)
