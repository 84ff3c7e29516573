"""Is this mail from a person, a list, or a machine (auto-reply, bounce, feedback report)?"""
from __future__ import annotations

from dataclasses import dataclass
from email.utils import getaddresses
from typing import Callable, Sequence

from connector.mail import machine_patterns as pat
from connector.mail.model import Classification


@dataclass(frozen=True)
class PartSummary:
    content_type: str           # lower-case "type/subtype"
    report_type: str = ""       # the report-type parameter of multipart/report, lower-case


class _Headers:
    def __init__(self, headers: Sequence[tuple[str, str]], text_head: str = ""):
        self._items = [(k.lower(), v.strip()) for k, v in headers]
        self.text_head = text_head      # the start of the text body, for the few rules that need it

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._items if k == name), None)

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def first(self, *names: str) -> tuple[str, str] | None:
        return next(((n, self.get(n)) for n in names if self.has(n)), None)  # type: ignore[misc]


Rule = Callable[[_Headers, Sequence[PartSummary]], "str | None"]


def arf_report(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    for p in parts:
        if p.content_type == "multipart/report" and p.report_type == "feedback-report":
            return "multipart/report; report-type=feedback-report (ARF)"
        if p.content_type == "message/feedback-report":
            return "message/feedback-report part (ARF)"
    return None


def mailbox_provider_report(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    """Non-ARF complaint feeds: Microsoft JMRP and Apple's unsubscribe requests."""
    name, email = _mailbox(h.get("from"))
    domain = email.rpartition("@")[2].lower()
    subject = (h.get("subject") or "").strip().lower()
    if domain in pat.MICROSOFT_DOMAINS and subject.startswith("complaint about message from"):
        return f"Microsoft complaint feed ({email})"
    if (h.get("x-apple-unsubscribe") or "").lower() == "true":
        return "X-Apple-Unsubscribe: true (Apple unsubscribe request)"
    return None


def dsn_report(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    for p in parts:
        if p.content_type == "multipart/report" and p.report_type == "delivery-status":
            return "multipart/report; report-type=delivery-status (DSN)"
        if p.content_type in {"message/delivery-status", "message/global-delivery-status"}:
            return f"{p.content_type} part (DSN)"
    return None


def _mailbox(value: str | None) -> tuple[str, str]:
    try:
        pairs = getaddresses([value]) if value else []
    except Exception:  # nested comments or groups overflow the stdlib's recursive address parser
        pairs = []
    return pairs[0] if pairs else ("", "")


def bounce_sender(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    for header in ("from", "sender", "return-path"):
        name, email = _mailbox(h.get(header))
        local = email.split("@", 1)[0].lower()
        if local in pat.BOUNCE_LOCALPARTS or (name and pat.BOUNCE_NAMES.search(name)):
            return f"{header.title()}: {email or name} is a mail server"
    return None


def null_sender_with_returned_mail(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    """Return-Path <> is only used by notifications; with a message sent back it is a bounce."""
    if (h.get("return-path") or "").replace(" ", "") != "<>":
        return None
    returned = {"message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"}
    if any(p.content_type in returned for p in parts) or pat.BOUNCE_SUBJECT.search(h.get("subject") or ""):
        return "Return-Path <> with the returned message or a bounce subject"
    return None


def notification_service(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    """Amazon SES delivers its bounce and complaint feedback as SNS notification mail."""
    name, email = _mailbox(h.get("from"))
    if h.has("x-amz-sns-message-id") and email.lower().endswith("@sns.amazonaws.com"):
        return "Amazon SNS notification (SES bounce/complaint feed)"
    return None


def bounce_subject(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    subject = h.get("subject") or ""
    if pat.BOUNCE_SUBJECT.search(subject):
        return f"bounce subject {subject[:60]!r}"
    return None


def list_manager_reply(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    """A list manager refusing our mail ("you are not a member", fml, majordomo): its sender is the
    list's own admin address and the list server's header is there; posts to the list come from
    the people who wrote them."""
    server = h.first("x-mlserver", "x-ml-server", "mailing-list", "x-mailing-list", "list-id")
    if server is None:
        return None
    name, email = _mailbox(h.get("from"))
    local = email.split("@", 1)[0].lower()
    # The refusal's wording too: Google Groups put List-Id on every post, and a customer's own
    # address may well be it-admin@ or purchase-request@.
    if pat.LIST_MANAGER_LOCALPART.search(local) and pat.LIST_REFUSAL_TEXT.search(h.text_head):
        return f"From: {email} is a mailing-list manager refusing a message ({server[0].title()})"
    return None


def returned_by_a_machine(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    """A delivery failure written as plain text by a machine that sets none of the headers (a
    Japanese carrier's "Your mail sent on ... could not be delivered"): a no-reply or daemon
    sender without a Reply-To for someone else, and the wording of a failed delivery of mail at
    the start of the text. A person forwarding a bounce (a real question) is neither."""
    name, email = _mailbox(h.get("from"))
    local = email.split("@", 1)[0].lower()
    if not (pat.MACHINE_LOCALPART.search(local) or (name and pat.MACHINE_NAME.search(name))):
        return None
    reply_to = _mailbox(h.get("reply-to"))[1].lower()
    if reply_to and reply_to != email.lower():
        return None         # a form or shop mailer writing for a person, who answers there
    found = pat.BOUNCE_TEXT.search(h.text_head)
    return f"a failure notice from {email or name}: {found.group(0)[:60]!r}" if found else None


def failed_recipients(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    return "X-Failed-Recipients header" if h.has("x-failed-recipients") else None


def auto_submitted(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    value = h.get("auto-submitted")
    if value and value.split(";", 1)[0].strip().lower() != "no":
        return f"Auto-Submitted: {value[:40]}"
    return None


def autoreply_headers(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    found = h.first("x-autoreply", "x-autorespond", "x-autoreply-from", "x-mail-autoreply",
                    "x-ms-exchange-inbox-rules-loop", "x-ms-exchange-generated-message-source")
    return f"{found[0]}: {found[1][:40]}" if found else None


def precedence_or_autogenerated(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    if (h.get("precedence") or "").lower() == "auto_reply":
        return "Precedence: auto_reply"
    if (h.get("x-autogenerated") or "").lower() == "reply":
        return "X-Autogenerated: Reply"
    return None


def out_of_office_subject(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    subject = h.get("subject") or ""
    return f"out-of-office subject {subject[:60]!r}" if pat.OOF_SUBJECT.search(subject) else None


def bulk_precedence(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    value = (h.get("precedence") or "").lower()
    return f"Precedence: {value}" if value in {"bulk", "list", "junk"} else None


def list_headers(h: _Headers, parts: Sequence[PartSummary]) -> str | None:
    found = h.first("list-id", "list-unsubscribe")
    return f"{found[0].title()} header" if found else None


def _suppress_oof(h: _Headers) -> str | None:
    """Outlook sets this on ordinary mail too: it only ever supports other evidence."""
    value = h.get("x-auto-response-suppress") or ""
    tokens = {t.strip().lower() for t in value.split(",")}
    return f"X-Auto-Response-Suppress: {value}" if tokens & {"oof", "all"} else None


RULES: tuple[tuple[str, tuple[Rule, ...]], ...] = (
    ("report", (arf_report, mailbox_provider_report)),
    ("bounce", (dsn_report, bounce_sender, null_sender_with_returned_mail, bounce_subject,
                failed_recipients, notification_service, list_manager_reply, returned_by_a_machine)),
    ("auto_reply", (auto_submitted, autoreply_headers, precedence_or_autogenerated, out_of_office_subject)),
    ("bulk", (bulk_precedence, list_headers)),
)


# How much of the text body the rules read: a failure notice says so in its first lines.
TEXT_HEAD_CHARS = 2000


def classify(headers: Sequence[tuple[str, str]], parts: Sequence[PartSummary], text: str = "") -> Classification:
    """The first kind (report > bounce > auto_reply > bulk) with any rule firing; else normal."""
    h = _Headers(headers, text[:TEXT_HEAD_CHARS])
    for kind, rules in RULES:
        reasons = [r for r in (rule(h, parts) for rule in rules) if r]
        if reasons:
            if kind == "auto_reply" and (extra := _suppress_oof(h)):
                reasons.append(extra)
            return Classification(kind=kind, reasons=tuple(reasons))
    return Classification(kind="normal")
