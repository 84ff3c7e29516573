"""Step: mail that could not be read within the reading budget is held back, raw bytes kept."""
from __future__ import annotations

from connector.mail.decision import Decision, Suspend
from connector.mail.steps.draft import Draft


def refuse_too_complex(draft: Draft) -> Decision | str:
    """Only part of such a message was read (too deep, too many parts, a header too long, too slow):
    a ticket built from that part could mislead an agent, so a person decides. Recovering it makes a
    ticket with what was read and the original attached."""
    reason = draft.mail.too_complex
    if reason:
        return Suspend(kind="too_complex", reason=f"{reason}; the raw message is kept")
    return "read in full"
