"""`gmail-connector sync --once`: one pass over every active inbox (or one), then exit."""
from __future__ import annotations

import sys

from connector.bootstrap import bootstrap
from connector.cli import NO_INBOXES, CommandError
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, list_inboxes
from jobs.sync_inbox import sync_inbox


def register(sub) -> None:
    parser = sub.add_parser("sync", help="sync inboxes once and exit",
                            description="Run one sync pass over every active inbox (or --inbox), then exit.")
    parser.add_argument("--once", action="store_true", required=True,
                        help="one pass, then exit (the scheduled daemon is `gmail-connector run`)")
    parser.add_argument("--inbox", metavar="ADDRESS", help="only this inbox (synced even if paused)")
    parser.set_defaults(func=_sync)


def _progress_bar(address: str):
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r{address}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def _sync(args, settings) -> int:
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        if args.inbox:
            if get_inbox(session, args.inbox) is None:
                raise CommandError(f"no connected inbox {args.inbox}")
            addresses = [args.inbox.lower()]
        else:
            inboxes = list_inboxes(session)
            addresses = [i.address for i in inboxes if i.state == "active"]
            if not inboxes:
                print(NO_INBOXES)
                return 0
    if not addresses:
        print("no active inboxes to sync (paused or waiting for consent: gmail-connector inboxes list)")
        return 0
    failures = 0
    for address in addresses:
        report = sync_inbox(runtime, address, progress=_progress_bar(address), force=bool(args.inbox))
        o = report.outcomes
        line = (f"{address}: {report.mode}, {report.listed} listed, {report.imported} imported "
                f"({o.created} tickets, {o.commented} comments, {o.suspended} suspended, {o.skipped} skipped"
                + "".join(f", {n} {what}" for n, what in ((o.noted, "private notes"), (o.forwarding, "forwarding"))
                          if n) + ")")
        if report.error:
            failures += 1
            line += f"; FAILED ({report.error_kind}): {report.error}"
        print(line)
    return 1 if failures else 0
