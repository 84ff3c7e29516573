"""`gmail-connector reply TICKET_ID`: queue a reply (or a private note) on a ticket, optionally send it now."""
from __future__ import annotations

import sys
from pathlib import Path

from connector.bootstrap import bootstrap
from connector.cli import CommandError, row_id
from connector.outbound.compose import ReplyAttachment
from connector.store.db import session_scope
from connector.store.outbound import NoRequester, ReplyError, queue_reply
from jobs.send_reply import send_one


def register(sub) -> None:
    parser = sub.add_parser("reply", help="reply to a ticket's requester (or add a private note)",
                            description="Queue a reply on a ticket; the daemon sends it, or --send-now does. "
                                        "It is stored before anything is sent.")
    parser.add_argument("ticket_id", type=row_id, metavar="TICKET_ID")
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", metavar="TEXT", help="the reply text")
    body.add_argument("--body-file", metavar="FILE", help="read the reply text from FILE (- for standard input)")
    parser.add_argument("--attach", metavar="FILE", action="append", default=[], help="attach FILE (repeatable)")
    parser.add_argument("--private", action="store_true", help="a private note on the ticket: stored, never sent")
    parser.add_argument("--send-now", action="store_true", help="send at once instead of waiting for the daemon")
    parser.set_defaults(func=_reply)


def _read_body(args) -> str:
    if args.body is not None:
        return args.body
    if args.body_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.body_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the reply text from {args.body_file}: {exc}") from None


def _read_attachments(paths: list[str]) -> list[ReplyAttachment]:
    files = []
    for name in paths:
        try:
            files.append(ReplyAttachment.guess(Path(name).name, Path(name).read_bytes()))
        except OSError as exc:
            raise CommandError(f"cannot attach {name}: {exc.strerror or exc}") from None
    return files


def _reply(args, settings) -> int:
    body, attachments = _read_body(args), _read_attachments(args.attach)
    runtime = bootstrap(settings)
    try:
        with session_scope(runtime.engine) as session:
            row = queue_reply(session, args.ticket_id, body, attachments, private=args.private,
                              attachments_dir=settings.attachments_dir)
    except NoRequester as exc:
        raise CommandError(f"{exc}; nothing queued (--private adds an internal note instead)") from None
    except ReplyError as exc:
        raise CommandError(f"nothing queued: {exc}") from None
    if row.private:
        print(f"private note {row.id} added to ticket #{row.ticket_id} (never sent)")
        return 0
    print(f"reply {row.id} queued on ticket #{row.ticket_id} to {row.to_addresses} from {row.from_address}")
    if not args.send_now:
        return 0
    outcome, error = send_one(runtime, row.id)
    if outcome in ("sent", "recovered"):
        print(f"reply {row.id} sent")
        return 0
    if outcome == "failed":
        raise CommandError(f"reply {row.id} was not sent and will not be retried: {error}")
    raise CommandError(f"reply {row.id} was not sent yet ({outcome}): {error}; the daemon tries again later")
