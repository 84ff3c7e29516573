"""Step: a message we already hold is skipped with a readable reason."""
from __future__ import annotations

from connector.mail.decision import Decision, Skip
from connector.mail.steps.draft import Draft
from connector.mail.steps.thread_match import locate_ticket


def dedupe(draft: Draft) -> Decision | str:
    """The same mail arrives twice (Gmail sync and SMTP forward, retries, our own sent mail seen
    again); the store would refuse the duplicate, this says why in words."""
    mid = draft.mail.message_id
    holder = draft.ctx.ticket_for_message_ids([mid])
    if holder is not None:
        return Skip(reason=f"Message-ID {mid} is already on ticket #{holder.id}")
    target = locate_ticket(draft)
    if target is not None and draft.ctx.comment_exists(target.id, mid):
        return Skip(reason=f"Message-ID {mid} is already a comment on ticket #{target.id}")
    return f"Message-ID {mid} not seen before"
