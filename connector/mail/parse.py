"""`parse_mail(raw) -> ParsedMail`: any bytes in, a complete ParsedMail out, never an exception."""
from __future__ import annotations

import re

from connector.mail.addresses import parse_addresses
from connector.mail.attachment_names import attachment_names
from connector.mail.attachments import make_attachment
from connector.mail.bodies import collect
from connector.mail.classify import PartSummary, classify
from connector.mail.fallback import fallback_mail
from connector.mail.headers import decoded_headers, message_ids, parse_date, synthesised_message_id, unfold
from connector.mail.html_text import html_to_text
from connector.mail.limits import DEFAULT_LIMITS, MailLimits, TooComplex, header_block_problem, tree_problem
from connector.mail.mime import MailPart, parse_tree, part_defects, walk_parts
from connector.mail.model import ParsedMail
from connector.mail.sender import FALLBACKS, choose_sender

_CID_REF = re.compile(r"""cid:([^"'\s>)]+)""", re.IGNORECASE)
# Defects are diagnostics for a person: past this many, more of them say nothing new.
MAX_DEFECTS = 200


def parse_mail(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail:
    """The whole message, or, when it is over `limits`, the few headers we can read cheaply with
    the original attached and `too_complex` saying why (see fallback_mail)."""
    reason = header_block_problem(raw, limits)
    if reason:
        return fallback_mail(raw, reason)
    try:
        root = parse_tree(raw, limits)
        reason = tree_problem(root, limits)
        return fallback_mail(raw, reason) if reason else _read(root, raw, limits)
    except TooComplex as exc:
        return fallback_mail(raw, exc.reason)
    except Exception as exc:  # a parser bug must not lose the mail: keep it whole for a person
        return fallback_mail(raw, f"unreadable: the parser failed ({type(exc).__name__})")


def _read(root: MailPart, raw: bytes, limits: MailLimits) -> ParsedMail:
    headers, defects = decoded_headers(root.items())
    defects = list(root.repairs) + part_defects(root) + defects
    if root.policy.header_charset:
        defects.append(f"headers: raw 8-bit text (names, subject, filenames) read as {root.policy.header_charset}, "
                       "by detection over all of the message's headers")
    address_fields = {}
    for name in ("From", "Reply-To", "To", "Cc"):
        address_fields[name], found = parse_addresses(name, root.get_all(name) or [])
        defects.extend(found)
    bodies = collect(root)
    defects.extend(bodies.defects)
    body_html = "\n".join(bodies.htmls) if bodies.htmls else None
    body_text = "\n".join(bodies.texts)
    if not body_text.strip() and body_html:
        body_text = html_to_text(body_html)   # an empty text/plain beside real HTML says nothing
    cids = frozenset(c.lower() for c in _CID_REF.findall(body_html or ""))
    if len(bodies.attachment_parts) > limits.max_mime_parts:
        # Files found inside parts (uuencoded blocks, winmail.dat) count against the parts' budget.
        defects.append(f"attachments: {len(bodies.attachment_parts):,} files, the first {limits.max_mime_parts:,} kept")
        del bodies.attachment_parts[limits.max_mime_parts:]
    names = attachment_names(bodies.attachment_parts)
    attachments = tuple(make_attachment(p, cids, n) for p, n in zip(bodies.attachment_parts, names))
    message_id = _message_id(root, raw, defects)
    date, date_defect = parse_date(_first(root, "Date"))
    if date_defect:
        defects.append(date_defect)
    subject = dict((k.lower(), v) for k, v in reversed(headers)).get("subject", "")
    sender, sender_source, found = choose_sender(address_fields["From"], len(root.get_all("From") or []),
                                  {name: root.get_all(name) or [] for name in FALLBACKS}, root.get_unixfrom())
    defects.extend(found)
    return ParsedMail(
        raw=raw, message_id=message_id, subject=subject,
        from_=sender, sender_source=sender_source,
        reply_to=address_fields["Reply-To"], to=address_fields["To"], cc=address_fields["Cc"],
        date=date, in_reply_to=next(iter(message_ids(_first(root, "In-Reply-To"))), None),
        references=tuple(message_ids(" ".join(unfold(v) for v in root.get_all("References") or []))),
        body_text=body_text, body_html=body_html, attachments=attachments, headers=headers,
        classification=classify(headers, _summaries(root), body_text), defects=_capped(defects),
    )


def _first(root: MailPart, name: str) -> str | None:
    value = root.get(name)
    return unfold(value) if value is not None else None


def _message_id(root: MailPart, raw: bytes, defects: list[str]) -> str:
    found = message_ids(_first(root, "Message-ID"))
    if found:
        return found[0]
    defects.append("Message-ID: missing or unusable, synthesised from the content hash")
    return synthesised_message_id(raw)


def _capped(defects: list[str]) -> tuple[str, ...]:
    if len(defects) <= MAX_DEFECTS:
        return tuple(defects)
    return (*defects[:MAX_DEFECTS], f"... and {len(defects) - MAX_DEFECTS:,} more defects")


def _summaries(root: MailPart) -> list[PartSummary]:
    out = []
    for part in walk_parts(root):
        ctype = part.get_content_type()
        report_type = ""
        if ctype == "multipart/report":
            report_type = str(part.get_param("report-type") or "").strip().lower()
        out.append(PartSummary(content_type=ctype, report_type=report_type))
    return out
