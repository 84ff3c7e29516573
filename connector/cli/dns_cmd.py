"""`gmail-connector dns check DOMAIN`: would a receiver accept our replies From @DOMAIN (SPF, DKIM, DMARC)?"""
from __future__ import annotations

import json
import sys

from connector.cli import CommandError
from connector.dnscheck.checks import GOOGLE_DKIM_SELECTOR, GOOGLE_SPF_INCLUDE, Finding
from connector.dnscheck.lookup import TIMEOUT_SECONDS, ResolverLookup
from connector.dnscheck.run import run_checks
from connector.dnscheck.sending import CheckPlan

DESCRIPTION = """\
Evaluates DOMAIN's records as a receiver would, for each path our replies From @DOMAIN take:
Gmail's servers (when no SMTP_RELAY_URL is set, when DOMAIN's mail is at Google, or with
--gmail-mailbox) and the SMTP relay (its host's A/AAAA addresses, when SMTP_RELAY_URL is set).
SPF follows include: and redirect= and counts DNS lookups against RFC 7208's limit of 10; DKIM
checks Gmail's selector and DKIM_SELECTOR's key against DKIM_PRIVATE_KEY_FILE; DMARC checks the
policy and whether each path aligns with DOMAIN. Every finding carries the TXT record to publish.
DNS is asked through DNS_RESOLVER (or the system's resolvers). Exit status: 0 when every check
passes (possibly weakly), 1 otherwise, including when DNS did not answer (status unreachable)."""


def register(sub) -> None:
    parser = sub.add_parser("dns", help="check a domain's SPF, DKIM and DMARC records")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="evaluate SPF, DKIM and DMARC for our replies and say what to publish",
                               description=DESCRIPTION)
    check.add_argument("domain", metavar="DOMAIN", help="the domain our replies are From")
    check.add_argument("--via", choices=("auto", "gmail", "relay", "both"), default="auto",
                       help="which sending paths to check (default auto: as replies are sent with these settings)")
    check.add_argument("--gmail-mailbox", default="", metavar="ADDRESS",
                       help="the Gmail mailbox that sends as DOMAIN's addresses when it is not of DOMAIN "
                            "(\"Send mail as\"): SPF and DKIM are then that mailbox's domain's")
    check.add_argument("--selector", default=GOOGLE_DKIM_SELECTOR,
                       help="the DKIM selector Gmail signs with (default: google)")
    check.add_argument("--spf-include", default=GOOGLE_SPF_INCLUDE, metavar="DOMAIN",
                       help="the SPF include of the servers Gmail replies leave from (default: _spf.google.com)")
    check.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS, metavar="S",
                       help="seconds to wait for each DNS answer (default 5)")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=_check)


def _check(args, settings) -> int:
    try:
        lookup = ResolverLookup.from_setting(settings.dns_resolver, args.timeout)
    except ValueError as exc:
        raise CommandError(f"DNS_RESOLVER is not HOST[:PORT]: {exc}") from None
    plan = CheckPlan.from_settings(settings, via=args.via, gmail_mailbox=args.gmail_mailbox.strip().lower(),
                                   gmail_selector=args.selector, gmail_include=args.spf_include.lower())
    domain = args.domain.strip().lower().rstrip(".")
    findings = run_checks(domain, lookup, plan)
    if args.json:
        print(json.dumps({"domain": domain, "ok": all(f.ok for f in findings),
                          "checks": [f.as_json() for f in findings]}, indent=2))
    else:
        _print(findings)
    if any(f.status == "unreachable" for f in findings):
        print("DNS did not answer some lookups: nothing is concluded about those records; check DNS_RESOLVER "
              "or the network", file=sys.stderr)
    return 0 if all(f.ok for f in findings) else 1


def _print(findings: list[Finding]) -> None:
    for f in findings:
        print(f"{f.check.upper():<6} {f.status:<11} {f.detail}")
        if f.fix:
            print(f"       fix: {f.fix}")
        for line in f.publish if f.status != "ok" else ():
            if f.fix and line in f.fix:
                continue                     # the fix already names it
            # A line holding the record as published now means: change nothing there.
            print(f"       {'keep' if f.record and f.record in line else 'publish'}: {line}")
