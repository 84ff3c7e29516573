"""`dns check` against a local DNS server: SPF evaluated as a receiver does, DKIM keys, DMARC alignment."""
from __future__ import annotations

import json
import socket

import pytest

from connector.cli import main
from tiny_dns import TinyDns  # tests/dns is not a package: "dns" must stay dnspython
from zones import GOOGLE, dkim_value, private_pem, workspace

BARE = {"bare.example": ["v=spf1 include:spf.protection.outlook.com -all"],
        "spf.protection.outlook.com": ["v=spf1 ip4:40.92.0.0/15 -all"], "_dmarc.bare.example": []}


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    def run(zone, *argv, down=None, down_for=(), **env):
        monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
        for name, value in env.items():
            monkeypatch.setenv(name.upper(), value)
        with TinyDns(zone, down=down, down_for=down_for) as server:
            monkeypatch.setenv("DNS_RESOLVER", server.address)
            status = main(["--env-file", "/dev/null", "dns", "check", *argv])
        out = capsys.readouterr()
        return status, (json.loads(out.out) if "--json" in argv else out.out), out.err
    return run


def statuses(report) -> dict[str, str]:
    return {c["check"]: c["status"] for c in report["checks"]}


def by_check(report) -> dict[str, dict]:
    return {c["check"]: c for c in report["checks"]}


def key_file(tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pem"
    path.write_bytes(private_pem(name))
    return str(path)


def test_a_workspace_domain_ready_for_gmail_passes_every_check(run):
    status, report, _ = run(workspace("masociete.com"), "masociete.com", "--json")
    assert status == 0 and report["ok"] and statuses(report) == {"spf": "ok", "dkim": "ok", "dmarc": "ok"}
    spf = by_check(report)["spf"]
    # Gmail's servers are sampled from Google's own tree as DNS serves it, IPv4 and IPv6.
    assert "Gmail's servers (_spf.google.com) passes" in spf["detail"] and "ends in ~all" in spf["detail"]
    assert spf["publish"] == ['TXT masociete.com "v=spf1 include:_spf.google.com ~all"']   # keep it as it is
    assert by_check(report)["dmarc"]["publish"] == ['TXT _dmarc.masociete.com "v=DMARC1; p=quarantine"']


def test_missing_and_wrong_records_each_come_with_the_record_to_publish(run):
    status, out, _ = run(GOOGLE | BARE, "bare.example")
    assert status == 1
    assert "SPF    wrong" in out and "gets SPF fail from bare.example" in out
    assert ('fix: publish TXT bare.example "v=spf1 include:spf.protection.outlook.com include:_spf.google.com '
            '-all"') in out
    assert "DKIM   missing" in out and "google._domainkey.bare.example" in out
    # SPF and DKIM fail for our replies: enforcing DMARC now would bin them, so monitoring comes first.
    assert "DMARC  missing" in out and 'fix: publish TXT _dmarc.bare.example "v=DMARC1; p=none' in out
    assert "our replies do not pass DMARC yet" in out


def test_a_missing_dmarc_record_is_offered_at_quarantine_when_our_replies_pass(run):
    zone = workspace("masociete.com")
    del zone["_dmarc.masociete.com"]
    _, report, _ = run(zone, "masociete.com", "--json")
    dmarc = by_check(report)["dmarc"]
    assert (dmarc["status"], dmarc["record"]) == ("missing", None)
    assert dmarc["publish"] == ['TXT _dmarc.masociete.com "v=DMARC1; p=quarantine; '
                                'rua=mailto:dmarc-reports@masociete.com"']


def test_gmail_s_selector_and_spf_include_are_configurable(run):
    zone = {"other.example": ["v=spf1 include:mailgun.org ~all"], "mailgun.org": ["v=spf1 ip4:209.61.151.0/24 ~all"],
            "s1._domainkey.other.example": [dkim_value("s1")], "_dmarc.other.example": ["v=DMARC1; p=reject"]}
    status, report, _ = run(zone, "other.example", "--selector", "s1", "--spf-include", "mailgun.org", "--json")
    assert status == 0 and report["ok"], report
    status, report, _ = run(zone | GOOGLE, "other.example", "--json")   # by default: Gmail's servers and key
    assert status == 1 and statuses(report)["spf"] == "wrong" and statuses(report)["dkim"] == "missing"
    assert by_check(report)["spf"]["publish"] == ['TXT other.example "v=spf1 include:mailgun.org '
                                                  'include:_spf.google.com ~all"']


def test_a_nested_include_tree_is_followed_for_gmail_and_the_relay(run, tmp_path):
    zone = workspace("masociete.com", spf="v=spf1 include:spf.masociete.com -all") | {
        "spf.masociete.com": ["v=spf1 include:_spf.google.com include:relays.masociete.com ~all"],
        "relays.masociete.com": ["v=spf1 redirect=_relays.provider.test"],
        "_relays.provider.test": ["v=spf1 a:out.provider.test ip4:203.0.113.0/28 -all"],
        "out.provider.test": {"A": ["198.51.100.7"]},
        "smtp.provider.test": {"A": ["198.51.100.7"], "AAAA": []},
        "s1._domainkey.masociete.com": [dkim_value("ours")],
    }
    status, report, _ = run(zone, "masociete.com", "--json", smtp_relay_url="smtp://smtp.provider.test:587",
                            dkim_selector="s1", dkim_private_key_file=key_file(tmp_path, "ours"))
    assert status == 0 and statuses(report) == {"spf": "ok", "dkim": "ok", "dmarc": "ok"}
    parts = {p["path"]: p for p in by_check(report)["spf"]["parts"]}
    assert parts["gmail"]["status"] == parts["relay"]["status"] == "ok"
    assert "a:out.provider.test at _relays.provider.test" in parts["relay"]["detail"]
    assert "8 of 10 lookups in full" in parts["record"]["detail"]     # 2 includes, 1 redirect, 1 a, Google's 4
    dkim = {p["path"]: p["detail"] for p in by_check(report)["dkim"]["parts"]}
    assert dkim == {"gmail": "DKIM key published at google._domainkey.masociete.com",
                    "relay": "DKIM key at s1._domainkey.masociete.com matches DKIM_PRIVATE_KEY_FILE"}


def test_a_relay_the_record_does_not_cover_gets_its_address_added(run):
    zone = workspace("masociete.com", spf="v=spf1 include:_spf.google.com -all") | \
        {"smtp.provider.test": {"A": ["198.51.100.7"]}}
    status, report, _ = run(zone, "masociete.com", "--json", smtp_relay_url="smtp://smtp.provider.test:587")
    spf = by_check(report)["spf"]
    assert status == 1 and spf["status"] == "wrong"
    assert "the relay smtp.provider.test (198.51.100.7) gets SPF fail" in spf["detail"]
    assert spf["publish"] == ['TXT masociete.com "v=spf1 include:_spf.google.com ip4:198.51.100.7 -all"']


def test_more_than_ten_lookups_is_a_permerror_even_when_our_servers_match_first(run):
    chain = {f"n{i}.masociete.com": [f"v=spf1 include:n{i + 1}.masociete.com"] for i in range(1, 10)}
    chain["n10.masociete.com"] = ["v=spf1 ip4:192.0.2.128/25"]
    zone = workspace("masociete.com", spf="v=spf1 include:_spf.google.com include:n1.masociete.com ~all") | chain
    status, report, _ = run(zone, "masociete.com", "--json")
    spf = by_check(report)["spf"]
    parts = {p["path"]: p for p in spf["parts"]}
    assert parts["gmail"]["status"] == "ok"             # a receiver stops at the first match...
    assert parts["record"]["status"] == "wrong"         # ...but every other server meets the overflow
    assert "more than 10 DNS lookups" in parts["record"]["detail"] and status == 1
    assert spf["publish"] == ['TXT masociete.com "v=spf1 include:_spf.google.com ~all"']


def test_an_overflow_before_our_include_fails_gmail_replies(run):
    includes = " ".join(f"include:x{i}.masociete.com" for i in range(8))
    zone = workspace("masociete.com", spf=f"v=spf1 {includes} include:_spf.google.com ~all") | \
        {f"x{i}.masociete.com": [f"v=spf1 ip4:198.18.{i}.0/24"] for i in range(8)}
    _, report, _ = run(zone, "masociete.com", "--json")
    gmail = next(p for p in by_check(report)["spf"]["parts"] if p["path"] == "gmail")
    assert gmail["status"] == "wrong" and "SPF permerror" in gmail["detail"] and "more than 10" in gmail["detail"]


def test_more_than_two_void_lookups_is_a_permerror(run):
    zone = workspace("masociete.com", spf="v=spf1 a:gone1.masociete.com mx:gone2.masociete.com "
                     "exists:gone3.masociete.com include:_spf.google.com ~all")
    _, report, _ = run(zone, "masociete.com", "--json")
    assert "more than 2 void lookups (at gone3.masociete.com)" in by_check(report)["spf"]["detail"]


@pytest.mark.parametrize("ending, status, ok", [("-all", "ok", True), ("~all", "ok", True),
                                                ("?all", "weak", True), ("+all", "weak", True),
                                                ("", "weak", True)])
def test_the_final_all_decides_what_every_other_server_gets(run, ending, status, ok):
    zone = workspace("masociete.com", spf=f"v=spf1 include:_spf.google.com {ending}".strip())
    code, report, _ = run(zone, "masociete.com", "--json")
    spf = by_check(report)["spf"]
    assert (spf["status"], spf["ok"]) == (status, ok)
    if status == "weak":
        assert spf["publish"] == ['TXT masociete.com "v=spf1 include:_spf.google.com ~all"']


def test_a_published_key_that_is_not_ours_fails_dkim_with_our_key_to_publish(run, tmp_path):
    zone = workspace("masociete.com") | {"smtp.provider.test": {"A": ["198.51.100.7"]},
                                         "s1._domainkey.masociete.com": [dkim_value("someone-else")]}
    status, report, _ = run(zone, "masociete.com", "--json", "--via", "relay",
                            smtp_relay_url="smtp://smtp.provider.test:587", dkim_selector="s1",
                            dkim_private_key_file=key_file(tmp_path, "ours"))
    dkim = by_check(report)["dkim"]
    assert status == 1 and dkim["status"] == "wrong"
    assert "does not match DKIM_PRIVATE_KEY_FILE" in dkim["detail"]
    assert dkim["publish"] == [_txt("s1._domainkey.masociete.com", dkim_value("ours"))]
    # SPF does not cover the relay either, so under p=quarantine relayed replies fail DMARC.
    assert by_check(report)["dmarc"]["status"] == "wrong"


def test_an_unreadable_key_file_is_reported_not_raised(run, tmp_path):
    zone = workspace("masociete.com") | {"smtp.provider.test": {"A": ["198.51.100.7"]}}
    status, report, _ = run(zone, "masociete.com", "--json", "--via", "relay",
                            smtp_relay_url="smtp://smtp.provider.test:587", dkim_selector="s1",
                            dkim_private_key_file=str(tmp_path / "missing.pem"))
    dkim = by_check(report)["dkim"]
    assert status == 1 and dkim["status"] == "wrong" and "cannot be read" in dkim["detail"]


def test_dmarc_reject_with_a_from_gmail_cannot_align_is_a_failure_with_a_fix(run):
    zone = workspace("masociete.com", dmarc="v=DMARC1; p=reject") | workspace("helpdesk.test")
    status, report, _ = run(zone, "masociete.com", "--json", "--gmail-mailbox", "support@helpdesk.test")
    spf, dmarc = by_check(report)["spf"], by_check(report)["dmarc"]
    assert spf["status"] == "ok"       # helpdesk.test's SPF passes for Gmail: it is alignment that fails
    assert status == 1 and dmarc["status"] == "wrong" and not dmarc["ok"]
    assert "are From @masociete.com but fail DMARC" in dmarc["detail"] and "receivers reject them" in dmarc["detail"]
    assert "not aligned" in dmarc["detail"] and "SMTP_RELAY_URL" in dmarc["fix"]


def test_strict_alignment_inherited_from_the_organizational_domain(run):
    zone = workspace("masociete.com", dmarc="v=DMARC1; p=reject; aspf=s; adkim=s") | {"eu.masociete.com": []}
    status, report, _ = run(zone, "eu.masociete.com", "--json", "--gmail-mailbox", "help@masociete.com")
    dmarc = by_check(report)["dmarc"]
    assert status == 1 and dmarc["status"] == "wrong" and "(from _dmarc.masociete.com)" in dmarc["detail"]
    assert dmarc["publish"] == ['TXT _dmarc.masociete.com "v=DMARC1; p=reject"']     # relaxed would align


def test_dmarc_none_passes_weakly_and_offers_the_stricter_record(run):
    status, report, _ = run(workspace("masociete.com", dmarc="v=DMARC1; p=none; rua=mailto:d@masociete.com"),
                            "masociete.com", "--json")
    dmarc = by_check(report)["dmarc"]
    assert status == 0 and (dmarc["status"], dmarc["ok"]) == ("weak", True)
    assert dmarc["publish"] == ['TXT _dmarc.masociete.com "v=DMARC1; p=quarantine; rua=mailto:d@masociete.com"']


def test_a_silent_resolver_is_unreachable_never_missing_records(tmp_path, monkeypatch, capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:       # bound, never answers
        silent.bind(("127.0.0.1", 0))
        monkeypatch.setenv("DNS_RESOLVER", f"127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
        assert main(["--env-file", "/dev/null", "dns", "check", "masociete.com", "--timeout", "0.2", "--json"]) == 1
    out = capsys.readouterr()
    assert statuses(json.loads(out.out)) == {"spf": "unreachable", "dkim": "unreachable", "dmarc": "unreachable"}
    assert "publishes no" not in out.out and "DNS did not answer" in out.err


@pytest.mark.parametrize("down", ["servfail", "silent"])
def test_a_failing_server_for_part_of_the_tree_is_unreachable_for_that_part_only(run, down):
    zone = workspace("masociete.com", spf="v=spf1 include:_spf.google.com include:spf.partner.test ~all")
    status, report, err = run(zone, "masociete.com", "--json", "--timeout", "0.3", down=down,
                              down_for=("partner.test", "_dmarc.masociete.com"))
    assert status == 1 and statuses(report) == {"spf": "unreachable", "dkim": "ok", "dmarc": "unreachable"}
    assert "spf.partner.test" in by_check(report)["spf"]["detail"] and "DNS did not answer" in err
    assert "no SPF record" not in json.dumps(report) and "no DMARC record" not in json.dumps(report)


def _txt(name: str, value: str) -> str:
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)]
    return f"TXT {name} " + " ".join(f'"{c}"' for c in chunks)
