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
            status = build_status(session, utcnow(), settings=settings)
    finally:
        runtime.engine.dispose()
    print(json.dumps(status, indent=2) if args.json else describe(status))
    return 0


def describe(status: dict) -> str:
    """The picture in lines a person reads in a terminal."""
    from connector.admin.words import age_words

    totals = status["totals"]
    lines = [f"gmail-connector {status['version']}: {totals['inboxes']} inboxes, "
             f"{totals['imported_last_24h']} messages imported in the last 24 h, "
             f"{totals['suspended']} held back, {totals['tickets']} tickets"]
    if not status["inboxes"]:
        lines.append(NO_INBOXES)
    for row in status["inboxes"]:
        lines.append(f"  {row['address']:<36} {row['state']:<13} last sync {age_words(row['last_success_age_seconds'])}"
                     f", imported {row['imported_last_24h']} today / {row['imported_total']} total")
        credential = row["credential"]
        if credential["state"] == "needs_reauth":
            lines.append(f"      needs re-authorisation: run `{credential['command']}`")
        elif credential["state"] == "error":
            lines.append(f"      error: {credential['message']}")
    for title, counts in (("held back", status["suspended_by_kind"]), ("tickets", status["tickets_by_status"])):
        if counts:
            lines.append(f"{title}: " + ", ".join(f"{key} {count}" for key, count in counts.items()))
    return "\n".join(lines)
