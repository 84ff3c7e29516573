"""`dns check` against a local DNS server: SPF, DKIM and DMARC, each reported with its fix."""
from __future__ import annotations

import json

import pytest

from connector.cli import main
from connector.dnscheck.checks import check_dmarc, check_spf
from tiny_dns import TinyDns  # tests/dns is not a package: "dns" must stay dnspython

GOOD = {
    "masociete.com": ["v=spf1 include:_spf.google.com ~all", "google-site-verification=abc"],
    "google._domainkey.masociete.com": ["v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    "_dmarc.masociete.com": ["v=DMARC1; p=quarantine; rua=mailto:dmarc@masociete.com"],
}
BARE = {"bare.example": ["v=spf1 include:spf.protection.outlook.com -all"], "_dmarc.bare.example": []}


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    def run(zone, *argv):
        with TinyDns(zone) as server:
            monkeypatch.setenv("DNS_RESOLVER", server.address)
            monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
            status = main(["--env-file", "/dev/null", "dns", "check", *argv])
        return status, capsys.readouterr()
    return run


def test_a_domain_ready_for_gmail_passes_every_check(run):
    status, out = run(GOOD, "masociete.com", "--json")
    report = json.loads(out.out)
    assert status == 0 and report["ok"]
    assert [(c["check"], c["status"]) for c in report["checks"]] == [("spf", "ok"), ("dkim", "ok"), ("dmarc", "ok")]


def test_missing_and_wrong_records_each_come_with_a_fix(run):
    status, out = run(BARE, "bare.example")
    assert status == 1
    lines = out.out
    assert "SPF    wrong" in lines and "include:_spf.google.com" in lines
    assert "DKIM   missing" in lines and "google._domainkey.bare.example" in lines
    assert "DMARC  missing" in lines and '"v=DMARC1; p=quarantine' in lines


def test_selector_and_spf_include_are_configurable(run):
    zone = {"other.example": ["v=spf1 include:mailgun.org ~all"],
            "s1._domainkey.other.example": ["k=rsa; p=ABC"], "_dmarc.other.example": ["v=DMARC1; p=reject"]}
    status, out = run(zone, "other.example", "--selector", "s1", "--spf-include", "mailgun.org", "--json")
    assert status == 0 and json.loads(out.out)["ok"]


def test_an_unreachable_resolver_is_reported_not_mistaken_for_missing_records(tmp_path, monkeypatch, capsys):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:       # bound, never answers
        silent.bind(("127.0.0.1", 0))
        monkeypatch.setenv("DNS_RESOLVER", f"127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
        assert main(["--env-file", "/dev/null", "dns", "check", "masociete.com",
                     "--timeout", "0.2"]) == 1
    assert "DNS did not answer" in capsys.readouterr().err


@pytest.mark.parametrize("records, status", [
    (["v=spf1 include:_spf.google.com +all"], "weak"),
    (["v=spf1 include:_spf.google.com ~all", "v=spf1 -all"], "wrong"),
    ([], "missing"),
])
def test_spf_judgement(records, status):
    assert check_spf("x.example", records).status == status


def test_dmarc_none_is_weak_but_passes_and_a_bad_policy_fails():
    assert (check_dmarc("x.example", ["v=DMARC1; p=none"]).ok, check_dmarc("x.example", ["v=DMARC1; p=none"]).status) \
        == (True, "weak")
    assert check_dmarc("x.example", ["v=DMARC1; p=maybe"]).status == "wrong"
