"""`gmail-connector tickets ...` and `suspended ...`: read tickets; recover or delete held-back mail."""
from __future__ import annotations

import json
from typing import Callable

from connector.bootstrap import bootstrap
from connector.cli import CommandError, row_id
from connector.cli.store_access import in_store
from connector.store.db import session_scope
from connector.store.queries import ticket_detail, ticket_rows
from connector.store.suspended import delete_suspended, suspended_rows
from connector.ticketing.ticket_mail import recover_suspended_mail


def register(sub) -> None:
    tickets = sub.add_parser("tickets", help="list and show tickets", description="Read the helpdesk's tickets.")
    t_actions = tickets.add_subparsers(dest="action", metavar="ACTION", required=True)
    t_list = t_actions.add_parser("list", help="list tickets, newest first")
    t_list.add_argument("--json", action="store_true", help="print the documented JSON array")
    t_list.set_defaults(func=_tickets_list)
    t_show = t_actions.add_parser("show", help="show one ticket with its comments")
    t_show.add_argument("id", type=row_id)
    t_show.add_argument("--json", action="store_true", help="print the documented JSON object")
    t_show.set_defaults(func=_tickets_show)

    suspended = sub.add_parser("suspended", help="mail held back instead of becoming a ticket",
                               description="Mail held back (auto-replies, bounces, loops...) with its reason.")
    s_actions = suspended.add_subparsers(dest="action", metavar="ACTION", required=True)
    s_list = s_actions.add_parser("list", help="list suspended mail")
    s_list.add_argument("--json", action="store_true", help="print the documented JSON array")
    s_list.set_defaults(func=_suspended_list)
    s_recover = s_actions.add_parser("recover", help="turn suspended mail into a ticket after all")
    s_recover.add_argument("id", type=row_id)
    s_recover.set_defaults(func=_suspended_recover)
    s_delete = s_actions.add_parser("delete", help="discard suspended mail (the raw message is kept)")
    s_delete.add_argument("id", type=row_id)
    s_delete.set_defaults(func=_suspended_delete)


def _print_listing(args, rows: list[dict], empty: str, line: Callable[[dict], str], header: str) -> int:
    """Prints the documented JSON array with --json, otherwise a header and one line per row (or
    `empty` for none)."""
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print(empty)
        return 0
    print(header)
    for r in rows:
        print(line(r))
    return 0


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


TICKET_HEADER = f"{'TICKET':<6} {'STATUS':<8} {'GROUP':<10} {'REQUESTER':<32} {'COMMENTS':>12}  SUBJECT"
SUSPENDED_HEADER = f"{'ID':<5} {'RECEIVED':<20}  {'FROM':<32} {'SUBJECT':<50}  REASON"


def _tickets_list(args, settings) -> int:
    return _print_listing(args, in_store(settings, ticket_rows), "no tickets yet", _ticket_line, TICKET_HEADER)


def _ticket_line(r: dict) -> str:
    flags = f" [{','.join(r['flags'])}]" if r["flags"] else ""
    return (f"#{r['id']:<5} {r['status']:<8} {r['group']:<10} {r['requester']['email']:<32} "
            f"{plural(r['comment_count'], 'comment'):>12}  {r['subject']}{flags}")


def _tickets_show(args, settings) -> int:
    detail = in_store(settings, lambda session: ticket_detail(session, args.id))
    if detail is None:
        raise CommandError(f"no ticket {args.id}")
    if args.json:
        print(json.dumps(detail, indent=2, ensure_ascii=False))
        return 0
    print(f"#{detail['id']} {detail['subject']}  ({detail['status']}, group {detail['group']})")
    print(f"requester: {detail['requester']['name']} <{detail['requester']['email']}>")
    for link in detail["helpdesk"]:
        print(f"in {link['destination']}: ticket {link['id']}" + (f" {link['url']}" if link["url"] else ""))
    for c in detail["comments"]:
        visibility = "public" if c["public"] else "private note"
        print(f"\n--- {c['created_at']} {c['author']['email']} ({visibility})")
        print(c["body_text"].rstrip())
        for a in c["attachments"]:
            print(f"    [attachment] {a['filename']} ({a['content_type']}, {a['size']} bytes)")
    return 0


def _suspended_list(args, settings) -> int:
    return _print_listing(args, in_store(settings, suspended_rows), "no suspended mail", _suspended_line,
                          SUSPENDED_HEADER)


def _suspended_line(r: dict) -> str:
    return f"{r['id']:<5} {r['received_at'] or '':<20}  {r['from']:<32} {r['subject'][:50]:<50}  {r['reason']}"


def _suspended_recover(args, settings) -> int:
    # Held-back mail is exactly the mail anyone could have crafted: read it within the daemon's budget.
    from jobs.refetch_held_back import StillRefused, refetch_held_back

    runtime = bootstrap(settings, isolated_reading=True)
    try:
        refetch_held_back(runtime, args.id)
        outcome = recover_suspended_mail(runtime.ticketing, args.id)
    except StillRefused as exc:
        raise CommandError(f"suspended mail {args.id} stays held back: {exc}") from None
    finally:
        runtime.close()
    if outcome is None:
        raise CommandError(f"no suspended mail {args.id}")
    print(f"recovered suspended mail {args.id}: {outcome}")
    return 0


def _suspended_delete(args, settings) -> int:
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        if not delete_suspended(session, args.id):
            raise CommandError(f"no suspended mail {args.id}")
    print(f"deleted suspended mail {args.id}")
    return 0
