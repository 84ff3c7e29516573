"""`gmail-connector addresses ...`: map external addresses to support addresses and groups."""
from __future__ import annotations

import json
from typing import Callable

from connector.bootstrap import bootstrap
from connector.cli import CommandError
from connector.store.addresses import (AddressExists, add_external_address, address_json, list_addresses,
                                       multi_forwarded, remove_external)
from connector.store.db import session_scope


def register(sub) -> None:
    parser = sub.add_parser("addresses", help="map external addresses to support addresses",
                            description="Each external address (e.g. facturation@masociete.com), at Gmail or any "
                                        "other mail provider, is forwarded to its own support address, routed to "
                                        "a group.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an external address")
    add.add_argument("external", metavar="EXTERNAL", help="the address customers write to (any mail provider)")
    add.add_argument("--group", required=True, help="group its tickets go to")
    add.add_argument("--support-address", metavar="ADDR",
                     help="the helpdesk address it is forwarded to (default: LOCALPART@INBOUND_DOMAIN)")
    add.set_defaults(func=_add)
    listing = actions.add_parser("list", help="list external addresses and their forwarding state")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)
    remove = actions.add_parser("remove", help="forget an external address (its tickets stay)")
    remove.add_argument("external", metavar="EXTERNAL")
    remove.set_defaults(func=_remove)


def default_support_address(external: str, inbound_domain: str) -> str:
    local = external.strip().lower().partition("@")[0]
    if not inbound_domain:
        raise CommandError("INBOUND_DOMAIN is empty: set it (e.g. helpdesk.example.com) or give --support-address")
    return f"{local}@{inbound_domain.strip().lower()}"


def _add(args, settings) -> int:
    support = args.support_address or default_support_address(args.external, settings.inbound_domain)
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        try:
            row = add_external_address(session, args.external, support, args.group)
        except (AddressExists, ValueError) as exc:
            raise CommandError(str(exc)) from None
        print(f"added {row.external_address} -> {row.support_address} (group {row.group}); next: "
              f"gmail-connector forwarding setup {row.external_address}")
    return 0


def show_addresses(args, settings, show: Callable[[dict], None]) -> int:
    """Prints every external address: all as JSON with --json, otherwise each through `show`."""
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        multi = multi_forwarded(session)
        rows = [address_json(row, multi.get(row.support_address)) for row in list_addresses(session)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no external addresses: gmail-connector addresses add EXTERNAL --group GROUP")
    for r in rows:
        show(r)
    return 0


def _list(args, settings) -> int:
    return show_addresses(args, settings, _show_mapping)


def _show_mapping(r: dict) -> None:
    print(f"{r['external_address']:<36} -> {r['support_address']:<40} group={r['group']:<10} {r['state']}"
          + ("" if r["provider"] == "gmail" else " (other provider)"))


def _remove(args, settings) -> int:
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        if not remove_external(session, args.external):
            raise CommandError(f"no external address {args.external.lower()}")
    print(f"removed {args.external.lower()}")
    return 0
