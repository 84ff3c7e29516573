"""Step: a sender flooding us is held back before it fills the helpdesk."""
from __future__ import annotations

from connector.mail.decision import LOOP_MAX_PER_WINDOW, LOOP_WINDOW, Decision, Suspend
from connector.mail.steps.draft import Draft


def loop_guard(draft: Draft) -> Decision | str:
    """Two auto-responders answering each other, unmarked, produce mail for ever; a rate limit per
    sender stops that even when no header gives it away."""
    count = draft.ctx.recent_mail_count(draft.sender, draft.now - LOOP_WINDOW)
    if count >= LOOP_MAX_PER_WINDOW:
        minutes = int(LOOP_WINDOW.total_seconds() // 60)
        return Suspend(kind="loop", reason=f"mail loop suspected: {count} messages from {draft.sender} "
                                           f"in the last {minutes} minutes (limit {LOOP_MAX_PER_WINDOW})")
    return f"{count} recent messages from {draft.sender or '(none)'}"
