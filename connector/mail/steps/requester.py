"""Step: choose the person the ticket is for."""
from __future__ import annotations

from connector.mail.decision import Decision
from connector.mail.steps.draft import Draft


def pick_requester(draft: Draft) -> Decision | str:
    """Reply-To names the customer behind forms and forwarders; but a support address in Reply-To
    would make the helpdesk its own customer, so then the real sender is the requester."""
    candidate = draft.mail.requester
    if not candidate.email or draft.is_support_address(candidate.email):
        draft.requester = draft.mail.from_
        return f"requester {draft.requester.email or '(none)'} (From; Reply-To unusable)"
    draft.requester = candidate
    source = "Reply-To" if candidate is not draft.mail.from_ else "From"
    return f"requester {candidate.email} ({source})"
