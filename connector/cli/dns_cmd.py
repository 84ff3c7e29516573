"""`gmail-connector dns check DOMAIN`: are SPF, DKIM and DMARC ready for mail sent as this domain?"""
from __future__ import annotations

import json

from connector.cli import CommandError
from connector.dnscheck.checks import GOOGLE_DKIM_SELECTOR, GOOGLE_SPF_INCLUDE, check_dkim, check_dmarc, check_spf
from connector.dnscheck.lookup import TIMEOUT_SECONDS, DnsUnavailable, make_resolver, txt_records


def register(sub) -> None:
    parser = sub.add_parser("dns", help="check a domain's SPF, DKIM and DMARC records")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="check SPF, DKIM and DMARC and say how to fix them")
    check.add_argument("domain", metavar="DOMAIN")
    check.add_argument("--selector", default=GOOGLE_DKIM_SELECTOR, help="DKIM selector (default: google)")
    check.add_argument("--spf-include", default=GOOGLE_SPF_INCLUDE, metavar="DOMAIN",
                       help="what SPF must include (default: _spf.google.com, for mail sent through Gmail)")
    check.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS, metavar="S",
                       help="seconds to wait for each DNS answer (default 5)")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=_check)


def run_checks(domain: str, selector: str, include: str, dns_resolver: str, timeout: float = TIMEOUT_SECONDS) -> list:
    resolver = make_resolver(dns_resolver, timeout)
    domain = domain.strip().lower().rstrip(".")
    return [check_spf(domain, txt_records(resolver, domain), include),
            check_dkim(domain, selector, txt_records(resolver, f"{selector}._domainkey.{domain}")),
            check_dmarc(domain, txt_records(resolver, f"_dmarc.{domain}"))]


def _check(args, settings) -> int:
    try:
        findings = run_checks(args.domain, args.selector, args.spf_include, settings.dns_resolver,
                              args.timeout)
    except DnsUnavailable as exc:
        raise CommandError(f"DNS did not answer: {exc}; check DNS_RESOLVER or the network") from None
    except ValueError as exc:
        raise CommandError(f"DNS_RESOLVER is not HOST[:PORT]: {exc}") from None
    if args.json:
        print(json.dumps({"domain": args.domain.lower(), "ok": all(f.ok for f in findings),
                          "checks": [f.as_json() for f in findings]}, indent=2))
    else:
        for f in findings:
            print(f"{f.check.upper():<6} {f.status:<8} {f.detail}")
            if f.fix:
                print(f"       fix: {f.fix}")
    return 0 if all(f.ok for f in findings) else 1
