"""`gmail-connector status [--json]`: the admin status picture, read from the database without the daemon."""
from __future__ import annotations

import json

from connector.cli import NO_INBOXES
from connector.settings import Settings


def register(sub) -> None:
    parser = sub.add_parser("status", help="show what every inbox is doing (from the database)",
                            description="Show inboxes, held-back mail and tickets as stored; works "
                                        "whether or not the daemon is running, and never calls Gmail.")
    parser.add_argument("--json", action="store_true", help="print the same JSON as GET /status")
    parser.set_defaults(func=run_status)


def run_status(args, settings: Settings) -> int:
    from connector.admin.deps import read_session
    from connector.admin.status import build_status
    from connector.bootstrap import bootstrap
    from connector.store.types import utcnow

    runtime = bootstrap(settings)       # a store that cannot be opened: one line, from main()
    try:
        with read_session(runtime) as session:
            # A terminal has no page to fill: every inbox, where GET /status gives one page.
            status = build_status(session, utcnow(), settings=settings, limit=None)
    finally:
        runtime.engine.dispose()
    print(json.dumps(status, indent=2) if args.json else describe(status))
    return 0


def describe(status: dict) -> str:
    """The picture in lines a person reads in a terminal."""
    from connector.admin.words import age_words

    totals = status["totals"]
    # Forwarded addresses are connected for their settings only: never synced, so not listed as inboxes.
    inboxes = [row for row in status["inboxes"] if row.get("mode") != "forwarding"]
    grants = {row["address"]: row for row in status["inboxes"] if row.get("mode") == "forwarding"}
    forwarded = f" ({len(grants)} of them forwarded, settings only)" if grants else ""
    lines = [f"gmail-connector {status['version']}: {totals['inboxes']} inboxes{forwarded}, "
             f"{totals['imported_last_24h']} messages imported in the last 24 h, "
             f"{totals['suspended']} held back, {totals['tickets']} tickets"]
    if not status["inboxes"]:
        lines.append(NO_INBOXES)
    for row in inboxes:
        lines.append(f"  {row['address']:<36} {row['state']:<13} last sync {age_words(row['last_success_age_seconds'])}"
                     f", imported {row['imported_last_24h']} today / {row['imported_total']} total")
        lines.extend(_credential_lines(row))
    externals = {row["external_address"]: row for row in status.get("external_addresses") or []}
    if externals or grants:
        lines.append("Forwarded external addresses:")
    for address in sorted(set(externals) | set(grants)):
        row, grant = externals.get(address), grants.get(address)
        where = f"{row['state']:<13} -> {row['support_address']}" if row else "not mapped (gmail-connector addresses add)"
        lines.append(f"  {address:<36} {where}" + (" (Gmail settings only, never synced)" if grant else ""))
        if row and row.get("failure_reason"):
            lines.append(f"      {row['failure_reason']}")
        if grant:
            lines.extend(_credential_lines(grant))
    for title, counts in (("held back", status["suspended_by_kind"]), ("tickets", status["tickets_by_status"])):
        if counts:
            lines.append(f"{title}: " + ", ".join(f"{key} {count}" for key, count in counts.items()))
    return "\n".join(lines)


def _credential_lines(row: dict) -> list[str]:
    credential = row["credential"]
    if credential["state"] == "needs_reauth":
        return [f"      needs re-authorisation: run `{credential['command']}`"]
    if credential["state"] == "error":
        return [f"      error: {credential['message']}"]
    return []
