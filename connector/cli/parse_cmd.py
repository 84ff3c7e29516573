"""`gmail-connector parse FILE.eml ...`: show what the mail core reads in a message, for debugging."""
from __future__ import annotations

import json
import sys

from connector.mail.model import ParsedMail
from connector.mail.parse import parse_mail


def register(sub) -> None:
    parser = sub.add_parser("parse", help="parse .eml files and print what the connector sees in them")
    parser.add_argument("files", nargs="+", metavar="FILE", help="raw RFC 5322 message files")
    parser.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    parser.set_defaults(func=run)


def mail_as_json(mail: ParsedMail) -> dict:
    return {
        "message_id": mail.message_id,
        "subject": mail.subject,
        "from": mail.from_.as_json(),
        # Where the sender came from when From had none (Reply-To, Sender, Return-Path, the mbox line).
        "from_source": mail.sender_source,
        "reply_to": [a.as_json() for a in mail.reply_to],
        "to": [a.as_json() for a in mail.to],
        "cc": [a.as_json() for a in mail.cc],
        "date": mail.date.isoformat() if mail.date else None,
        "in_reply_to": mail.in_reply_to,
        "references": list(mail.references),
        "requester": mail.requester.as_json(),
        "body_text": mail.body_text,
        "body_html": mail.body_html,
        "attachments": [a.as_json() for a in mail.attachments],
        "classification": mail.classification.as_json(),
        "defects": list(mail.defects),
    }


def _summary(path: str, mail: ParsedMail) -> str:
    cls = mail.classification
    lines = [
        f"{path}:",
        f"  subject:   {mail.subject!r}",
        f"  from:      {mail.from_.name} <{mail.from_.email}>"
        + ("" if mail.sender_source == "From" else f" (from {mail.sender_source or 'nowhere'})"),
        f"  requester: {mail.requester.email}",
        f"  kind:      {cls.kind}" + (f" ({'; '.join(cls.reasons)})" if cls.reasons else ""),
        f"  body:      {len(mail.body_text)} chars text" + (", with HTML" if mail.body_html else ""),
        f"  attachments: {len(mail.attachments)}",
    ]
    lines += [f"  defect: {d}" for d in mail.defects]
    return "\n".join(lines)


def run(args, settings) -> int:
    status = 0
    for path in args.files:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            # One unreadable file must not hide the others: report it and carry on.
            print(f"gmail-connector parse: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        mail = parse_mail(raw)
        if args.json:
            print(json.dumps(mail_as_json(mail), ensure_ascii=False))
        else:
            print(_summary(path, mail))
    return status
