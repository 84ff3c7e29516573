"""`gmail-connector sync --once`: one pass over every active inbox (or one), then exit."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from connector.bootstrap import bootstrap
from connector.cli import NO_INBOXES, CommandError
from connector.cli.tickets_cmd import plural
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


def _progress_display() -> Progress:
    """Per inbox: a bar, messages imported of those listed, the rate and the time left (rich).
    Disabled when stderr is not a terminal: logs and pipes get only the summary lines."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=False,
                    disable=not sys.stderr.isatty())


def _reporter(display: Progress, address: str):
    task = display.add_task(address, total=None, rate="")

    def show(done: int, total: int) -> None:
        speed = next(t.speed for t in display.tasks if t.id == task)
        display.update(task, completed=done, total=total or None, rate=f"{speed:.1f} msg/s" if speed else "")
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
            # Forwarded addresses are never read: their mail arrives by SMTP.
            addresses = [i.address for i in inboxes if i.state == "active" and i.mode != "forwarding"]
            if not inboxes:
                print(NO_INBOXES)
                return 0
    if not addresses:
        print("no active inboxes to sync (paused or waiting for consent: gmail-connector inboxes list)")
        return 0
    failures = 0
    with _progress_display() as display:
        reports = [(address, sync_inbox(runtime, address, progress=_reporter(display, address),
                                        force=bool(args.inbox))) for address in addresses]
    for address, report in reports:
        o = report.outcomes
        line = (f"{address}: {report.mode}, {report.listed} listed, {report.imported} imported "
                f"({plural(o.created, 'ticket')}, {plural(o.commented, 'comment')}, {o.suspended} suspended, "
                f"{o.skipped} skipped" + (f", {plural(o.noted, 'private note')}" if o.noted else "")
                + (f", {o.forwarding} forwarding" if o.forwarding else "") + ")")
        if report.error:
            failures += 1
            line += f"; FAILED ({report.error_kind}): {report.error}"
        print(line)
    return 1 if failures else 0
