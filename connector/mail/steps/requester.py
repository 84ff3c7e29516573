"""Step: choose the person the ticket is for."""
from __future__ import annotations

from connector.mail.decision import Decision
from connector.mail.model import Address
from connector.mail.steps.draft import Draft


def _usable(draft: Draft, candidate: str) -> str:
    email = (candidate or "").strip().strip("<>").strip().lower()
    if "@" not in email or " " in email or draft.is_support_address(email):
        return ""
    return email


def _fallback(draft: Draft) -> tuple[Address, str] | None:
    """Without a usable Reply-To or From, the envelope still names who sent it: the SMTP envelope
    sender when the mail came that way, else what the parser found in Sender, Return-Path or the
    mbox line (ParsedMail.sender_source)."""
    mail = draft.mail
    if mail.sender_source == "Sender" and _usable(draft, mail.from_.email):
        return mail.from_, "Sender"
    if email := _usable(draft, draft.arrival.envelope_from):
        return Address(name=mail.from_.name, email=email), "envelope sender"
    if mail.sender_source not in ("From", "") and _usable(draft, mail.from_.email):
        return mail.from_, mail.sender_source
    return None


def pick_requester(draft: Draft) -> Decision | str:
    """Reply-To names the customer behind forms and forwarders; but a support address in Reply-To
    would make the helpdesk its own customer, so then the real sender is the requester. A message
    without a usable From still gets one, from the envelope, and the ticket says where it came from."""
    candidate = draft.mail.requester
    if draft.mail.sender_source != "From" and candidate is draft.mail.from_:
        candidate = Address("", "")     # not From itself: see _fallback for the envelope's turn
    if candidate.email and not draft.is_support_address(candidate.email):
        draft.requester = candidate
        source = "Reply-To" if candidate is not draft.mail.from_ else "From"
        if draft.mail.sender_source != "From":
            # Reply-To is the rule anyway, but the agent should know the mail had no From.
            draft.requester_note = f"requester {candidate.email} taken from the Reply-To: the mail has no usable From"
            return draft.requester_note
        return f"requester {candidate.email} ({source})"
    if draft.mail.sender_source == "From" and draft.mail.from_.email and not draft.is_support_address(draft.mail.from_.email):
        draft.requester = draft.mail.from_
        return f"requester {draft.requester.email} (From; Reply-To unusable)"
    found = _fallback(draft)
    if found is None:
        draft.requester = draft.mail.from_
        return "no requester address: the mail has no usable From, envelope sender or Return-Path"
    draft.requester, source = found
    draft.requester_note = f"requester {draft.requester.email} taken from the {source}: the mail has no usable From"
    return draft.requester_note
