"""`gmail-connector forwarding setup|verify|status`: forward external addresses (any provider) to the helpdesk."""
from __future__ import annotations

import time

from connector.bootstrap import bootstrap
from connector.cli import CommandError
from connector.cli.addresses_cmd import show_addresses
from connector.forwarding import states
from connector.cli.forwarded_inboxes import connect_for_forwarding
from connector.forwarding.criteria import DISPOSITIONS
from connector.gmail.port import GmailError
from connector.store.addresses import address_json
from jobs.forwarding import SetupError, check_forwarding, ensure_forwarding, snapshot
from jobs.forwarding_rows import has_gmail_grant
from jobs.forwarding_verify import await_verification, start_verification

WATCH_POLL_SECONDS = 2.0


def register(sub) -> None:
    parser = sub.add_parser("forwarding", help="set up and verify forwarding to support addresses (Gmail or any provider)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    setup = actions.add_parser("setup", help="Gmail: add the forwarding address and filter (idempotent); "
                                             "any other provider: print the steps",
                               description="Gmail: add the forwarding address and filter through the address's "
                                           "settings-only grant. Any other provider (--provider other, the default "
                                           "when the address has no Gmail grant): print the steps to forward it at "
                                           "the provider; `forwarding verify` then proves it.")
    setup.add_argument("external", metavar="EXTERNAL")
    setup.add_argument("--provider", choices=states.PROVIDERS,
                       help="gmail, or other (Microsoft 365, Fastmail, a company's server...); default: gmail "
                            "when EXTERNAL has a Gmail grant, else other")
    how = setup.add_mutually_exclusive_group()
    how.add_argument("--service-account", dest="method", action="store_const", const="service_account",
                     help="Workspace: add the forwarding address through the API (domain-wide delegation); "
                          "connects EXTERNAL for its settings only when it is not connected yet")
    how.add_argument("--guided", dest="method", action="store_const", const="guided",
                     help="consumer Gmail: print the steps to add it in Gmail's settings, then watch")
    setup.add_argument("--criteria", metavar="QUERY",
                       help="Gmail search for the mail to forward (default: deliveredto:EXTERNAL)")
    setup.add_argument("--disposition", choices=DISPOSITIONS, help="what happens to the Gmail copy")
    setup.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                       help="keep watching this long for the confirmation and acceptance")
    setup.set_defaults(func=_setup)
    verify = actions.add_parser("verify", help="send a test mail and wait for it to arrive forwarded")
    verify.add_argument("external", metavar="EXTERNAL")
    verify.add_argument("--timeout", type=float, default=120, metavar="S", help="seconds to wait (default 120)")
    verify.add_argument("--send-from", metavar="ADDRESS",
                        help="who sends the test mail: a connected inbox (through Gmail), else through "
                             "SMTP_RELAY_URL (default: another connected inbox, else the relay from the "
                             "support address)")
    verify.set_defaults(func=_verify)
    status = actions.add_parser("status", help="the forwarding state of every external address")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_status)


def _setup(args, settings) -> int:
    if args.provider == states.OTHER and (args.method or args.criteria or args.disposition):
        raise CommandError("--service-account, --guided, --criteria and --disposition set up Gmail; with "
                           "--provider other the forwarding is set at the provider (see the steps printed)")
    runtime = bootstrap(settings)
    try:
        if args.method == "service_account" and not has_gmail_grant(runtime, args.external):
            # A forwarded address is connected for its settings alone: it is never read through the API.
            print(connect_for_forwarding(runtime, args.external, snapshot(runtime, args.external).group))
        report = ensure_forwarding(runtime, args.external, method=args.method, criteria=args.criteria,
                                   disposition=args.disposition, provider=args.provider)
    except (SetupError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    except GmailError as exc:
        raise CommandError(f"Gmail refused the setup of {args.external.lower()}: {exc}") from None
    print(f"{report.external} -> {report.support}: {report.state} ({report.method})"
          + ("; forwarding address added" if report.created_address else "")
          + ("; forwarding filter created" if report.created_filter else ""))
    for number, step in enumerate(report.steps, 1):
        print(f"  {number}. {step}")
    state = report.state
    if args.wait and state == states.AWAITING and report.method != "provider":
        state = _watch(runtime, report.external, args.wait)
    if state == states.AWAITING and report.reason:
        print(report.reason)
    elif state == states.AWAITING and report.method != "provider":
        print("waiting for Google's confirmation: the daemon checks every 30 seconds; "
              "`gmail-connector forwarding status` shows the code and link once the mail arrives")
    elif state in states.WORKING or report.method == "provider":
        print(f"next: gmail-connector forwarding verify {report.external}")
    return 0 if state != states.FAILED else 1


def _watch(runtime, external: str, seconds: float) -> str:
    deadline, shown = time.monotonic() + seconds, False
    while True:
        row = snapshot(runtime, external)
        if row.confirmation_link and not shown:
            print(f"confirmation received: code {row.confirmation_code or '(none)'}, link {row.confirmation_link}")
            shown = True
        if row.state != states.AWAITING or time.monotonic() >= deadline:
            return row.state
        time.sleep(WATCH_POLL_SECONDS)
        check_forwarding(runtime)


def _verify(args, settings) -> int:
    runtime = bootstrap(settings)
    try:
        sent = start_verification(runtime, args.external, args.send_from)
    except SetupError as exc:
        raise CommandError(str(exc)) from None
    except GmailError as exc:
        raise CommandError(f"could not send the test mail: {exc}") from None
    print(f"test mail sent from {sent.sender} to {args.external.lower()} through {sent.route}; "
          f"waiting up to {args.timeout:.0f}s")
    row = await_verification(runtime, args.external, sent.token, args.timeout)
    if row.state == states.VERIFIED:
        print(f"verified {row.external_address} -> {row.support_address} at {address_json(row)['verified_at']}; "
              "outgoing mail from it is enabled")
        return 0
    raise CommandError(f"verification of {row.external_address} failed: {row.failure_reason}")


def _status(args, settings) -> int:
    return show_addresses(args, settings, _show_forwarding)


def _show_forwarding(r: dict) -> None:
    how = "Gmail" if r["provider"] == states.GMAIL else "other provider"
    print(f"{r['external_address']} -> {r['support_address']} [{r['group']}, {how}]: {r['state']}")
    if r["state"] == states.AWAITING and r["confirmation_link"]:
        print(f"    confirmation code {r['confirmation_code'] or '(none)'}: {r['confirmation_link']}")
    if r["failure_reason"]:
        print(f"    {r['failure_reason']}")
    if r["verified_at"]:
        print(f"    last verified {r['verified_at']}" + ("" if r["outgoing_allowed"] else " (verify again)"))
    if r["multi_forward"]:
        print(f"    multi-hop forwarding (last {r['multi_forward']['last_at']}): {r['multi_forward']['reason']}")
