"""Step: mail sent from one of our own support addresses is never turned into a ticket."""
from __future__ import annotations

from connector.mail.decision import Decision, Suspend
from connector.mail.steps.draft import Draft


def refuse_own_addresses(draft: Draft) -> Decision | str:
    """Our own address as sender means a forwarding loop or our reply echoed back: ticketing it
    would make the helpdesk answer itself, forever."""
    sender = draft.sender
    if sender and draft.is_support_address(sender):
        return Suspend(kind="own_address", reason=f"received from a support address ({sender})")
    return f"sender {sender or '(none)'} is not a support address"
