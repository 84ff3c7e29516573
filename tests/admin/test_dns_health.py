"""DNS health per external address: on /status, on the dashboard (escaped), in /metrics, for one query."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlmodel import Session

from connector.admin.render_sections import dns_badge
from connector.admin.status import build_status
from connector.dnscheck.checks import Finding, Part, combine, txt_line
from connector.dnscheck.lookup import DnsUnavailable
from connector.dnscheck.spf_check import suggest
from connector.store.addresses import add_external_address
from connector.store.db import session_scope
from connector.store.dns_health import record_dns_check

from .conftest import NOW

EVIL = "<script>alert('dns')</script>"
# Findings as `dns check` builds them (tests/dns runs the checks themselves against a DNS server).
BARE_SPF = txt_line("bare.example", suggest([], ["include:_spf.google.com"]))
GOOD_FINDINGS = [
    combine("spf", "v=spf1 include:_spf.google.com ~all",
            [Part("gmail", "ok", "Gmail's servers (_spf.google.com) passes"),
             Part("record", "ok", "masociete.com's SPF ends in ~all, 4 of 10 lookups in full, 0 void")]),
    combine("dkim", "v=DKIM1; p=ABC", [Part("gmail", "ok", "DKIM key published at google._domainkey.masociete.com")]),
    combine("dmarc", "v=DMARC1; p=reject", [Part("record", "ok", "DMARC policy reject"),
                                             Part("gmail", "ok", "replies through Gmail's servers pass DMARC")])]
BROKEN_FINDINGS = [
    combine("spf", None, [Part("gmail", "missing", "bare.example publishes no SPF record", f"publish {BARE_SPF}")],
            (BARE_SPF,)),
    combine("dkim", None, [Part("gmail", "missing", "no DKIM key at google._domainkey.bare.example",
                                "generate a DKIM key in Google Admin")]),
    combine("dmarc", "v=DMARC1; p=none", [Part("record", "weak", "DMARC policy none: reports only",
                                               "once reports show SPF and DKIM pass, move to p=quarantine")])]


def add_addresses(engine, *externals: str) -> None:
    with session_scope(engine) as session:
        for n, external in enumerate(externals):
            support = f"support{n}-{external.replace('@', '.')}@help.test"
            add_external_address(session, external, support, "Support", NOW)


def record(engine, domain: str, result, ago: timedelta = timedelta(hours=1)) -> None:
    with session_scope(engine) as session:
        record_dns_check(session, domain, result, NOW - ago)


def test_status_shows_each_address_with_its_domains_latest_check_or_null(runtime, serve):
    add_addresses(runtime.engine, "billing@masociete.com", "contact@masociete.com", "hello@bare.example",
                  "new@unchecked.example")
    record(runtime.engine, "masociete.com", GOOD_FINDINGS)
    record(runtime.engine, "bare.example", BROKEN_FINDINGS, ago=timedelta(hours=7))   # replaced below
    record(runtime.engine, "bare.example", BROKEN_FINDINGS)
    rows = {row["external_address"]: row["dns"] for row in serve(runtime).get("/status").json()["external_addresses"]}
    assert rows["new@unchecked.example"] is None
    assert rows["billing@masociete.com"] == rows["contact@masociete.com"]
    good, bare = rows["billing@masociete.com"], rows["hello@bare.example"]
    assert (good["domain"], good["checked_at"], good["overall"], good["error"]) == \
        ("masociete.com", "2024-05-01T11:00:00Z", "ok", None)
    assert good["dkim"] == {"status": "ok", "ok": True, "fix": None,
                            "detail": "DKIM key published at google._domainkey.masociete.com"}
    assert (bare["overall"], bare["spf"]["status"], bare["dkim"]["status"], bare["dmarc"]["status"]) == \
        ("fail", "missing", "missing", "weak")
    assert bare["spf"]["fix"].startswith('publish TXT bare.example "v=spf1 include:_spf.google.com')


def test_a_failed_lookup_is_a_warning_with_its_reason(runtime, serve):
    add_addresses(runtime.engine, "hello@bare.example")
    record(runtime.engine, "bare.example", DnsUnavailable("no answer for _dmarc.bare.example (LifetimeTimeout)"))
    dns = serve(runtime).get("/status").json()["external_addresses"][0]["dns"]
    assert (dns["overall"], dns["error"], dns["spf"]) == \
        ("warn", "no answer for _dmarc.bare.example (LifetimeTimeout)", None)
    page = serve(runtime).get("/").text
    assert "DNS lookup failed: no answer for _dmarc.bare.example" in page


def test_dashboard_shows_a_badge_the_first_fix_and_not_checked_yet(runtime, serve):
    add_addresses(runtime.engine, "billing@masociete.com", "hello@bare.example", "new@unchecked.example")
    record(runtime.engine, "masociete.com", GOOD_FINDINGS)
    record(runtime.engine, "bare.example", BROKEN_FINDINGS)
    page = serve(runtime).get("/").text
    assert '<span class="badge ok">DNS ok</span>' in page
    assert '<span class="badge bad" title="SPF: publish TXT bare.example' in page
    assert '<span class="reason">SPF: publish TXT bare.example &quot;v=spf1 include:_spf.google.com ~all&quot;</span>' \
        in page
    assert '<span class="badge idle">not checked yet</span>' in page


def test_stored_dns_text_is_escaped_on_the_page(runtime, serve):
    add_addresses(runtime.engine, "x@evil.example")
    record(runtime.engine, "evil.example", [Finding("spf", False, "wrong", EVIL, EVIL, f"publish {EVIL}"),
                                            *GOOD_FINDINGS[1:]])
    page = serve(runtime).get("/").text
    assert EVIL not in page and "<script>" not in page
    assert "SPF: publish &lt;script&gt;alert(&#x27;dns&#x27;)&lt;/script&gt;" in page


def test_a_weak_pass_is_a_warning_naming_what_to_tighten():
    html = dns_badge({"domain": "x.example", "checked_at": "2024-05-01T11:00:00+00:00", "overall": "warn",
                      "error": None, "spf": {"status": "ok", "fix": None}, "dkim": {"status": "ok", "fix": None},
                      "dmarc": {"status": "weak", "fix": "once reports show SPF and DKIM pass, move to p=quarantine"}},
                     NOW)
    assert html.startswith('<span class="badge warn" title="DMARC: once reports show')
    assert "1 hour ago" in html


def test_metrics_have_one_gauge_per_domain_and_record(runtime, serve):
    add_addresses(runtime.engine, "billing@masociete.com", "contact@masociete.com", "hello@bare.example",
                  "x@down.example")
    record(runtime.engine, "masociete.com", GOOD_FINDINGS)
    record(runtime.engine, "bare.example", BROKEN_FINDINGS)
    record(runtime.engine, "down.example", DnsUnavailable("no answer"))
    text = serve(runtime).get("/metrics").text
    lines = [line for line in text.splitlines() if line.startswith("gmail_connector_dns_health{")]
    assert sorted(lines) == sorted([
        'gmail_connector_dns_health{domain="masociete.com",record="spf"} 1.0',
        'gmail_connector_dns_health{domain="masociete.com",record="dkim"} 1.0',
        'gmail_connector_dns_health{domain="masociete.com",record="dmarc"} 1.0',
        'gmail_connector_dns_health{domain="bare.example",record="spf"} 0.0',
        'gmail_connector_dns_health{domain="bare.example",record="dkim"} 0.0',
        'gmail_connector_dns_health{domain="bare.example",record="dmarc"} 0.0',   # p=none passes, but is not ok
    ])   # down.example: unknown, so no sample rather than a false alarm


def count_statements(engine) -> int:
    statements: list[str] = []
    listener = lambda conn, cursor, sql, params, context, many: statements.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with Session(engine) as session:
            build_status(session, NOW)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def test_dns_health_costs_one_query_whatever_the_number_of_addresses(runtime):
    before = count_statements(runtime.engine)          # no external address: no DNS nor multi-forward query
    add_addresses(runtime.engine, "a@one.example")
    record(runtime.engine, "one.example", GOOD_FINDINGS)
    one = count_statements(runtime.engine)
    add_addresses(runtime.engine, *(f"a{n}@domain{n}.example" for n in range(40)))
    for n in range(0, 40, 2):
        record(runtime.engine, f"domain{n}.example", BROKEN_FINDINGS)
    assert one == before + 2                           # DNS health and multi-forward counts: one query each
    assert count_statements(runtime.engine) == one
