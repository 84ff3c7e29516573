"""`parse_mail(raw) -> ParsedMail`: any bytes in, a complete ParsedMail out, never an exception."""
from __future__ import annotations

import hashlib
import re

from connector.mail.addresses import parse_addresses
from connector.mail.attachments import make_attachment
from connector.mail.bodies import collect
from connector.mail.classify import PartSummary, classify
from connector.mail.headers import decoded_headers, message_ids, parse_date, unfold
from connector.mail.html_text import html_to_text
from connector.mail.mime import MailPart, parse_tree, part_defects
from connector.mail.model import Address, ParsedMail

_CID_REF = re.compile(r"""cid:([^"'\s>)]+)""", re.IGNORECASE)


def parse_mail(raw: bytes) -> ParsedMail:
    root = parse_tree(raw)
    headers, defects = decoded_headers(root.items())
    defects = part_defects(root) + defects
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
    attachments = tuple(make_attachment(p, cids) for p in bodies.attachment_parts)
    message_id = _message_id(root, raw, defects)
    date, date_defect = parse_date(_first(root, "Date"))
    if date_defect:
        defects.append(date_defect)
    subject = dict((k.lower(), v) for k, v in reversed(headers)).get("subject", "")
    return ParsedMail(
        raw=raw, message_id=message_id, subject=subject,
        from_=(address_fields["From"] or (Address("", ""),))[0],
        reply_to=address_fields["Reply-To"], to=address_fields["To"], cc=address_fields["Cc"],
        date=date, in_reply_to=next(iter(message_ids(_first(root, "In-Reply-To"))), None),
        references=tuple(message_ids(" ".join(unfold(v) for v in root.get_all("References") or []))),
        body_text=body_text, body_html=body_html, attachments=attachments, headers=headers,
        classification=classify(headers, _summaries(root)), defects=tuple(defects),
    )


def _first(root: MailPart, name: str) -> str | None:
    value = root.get(name)
    return unfold(value) if value is not None else None


def _message_id(root: MailPart, raw: bytes, defects: list[str]) -> str:
    found = message_ids(_first(root, "Message-ID"))
    if found:
        return found[0]
    # Deterministic, so the same broken message arriving twice is still recognised as a duplicate.
    defects.append("Message-ID: missing or unusable, synthesised from the content hash")
    return f"{hashlib.sha256(raw).hexdigest()[:32]}@generated.invalid"


def _summaries(root: MailPart) -> list[PartSummary]:
    out = []
    for part in root.walk():
        ctype = part.get_content_type()
        report_type = ""
        if ctype == "multipart/report":
            report_type = str(part.get_param("report-type") or "").strip().lower()
        out.append(PartSummary(content_type=ctype, report_type=report_type))
    return out
