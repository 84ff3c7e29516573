"""Step: auto-replies, bounces and feedback reports are held back or kept as private notes."""
from __future__ import annotations

from connector.mail.decision import AddComment, Decision, Suspend
from connector.mail.steps.comment import new_comment
from connector.mail.steps.draft import Draft
from connector.mail.steps.thread_match import locate_ticket

MACHINE_KINDS = {"auto_reply": "auto-reply", "bounce": "bounce", "report": "feedback report"}


def handle_machine_mail(draft: Draft) -> Decision | str:
    """Machine mail must never open a customer ticket or reopen one (and answering it would start
    a mail loop); on a known ticket an agent still wants to see it, privately."""
    cls = draft.mail.classification
    label = MACHINE_KINDS.get(cls.kind)
    if label is None:
        return f"not machine mail ({cls.kind})"
    ticket = locate_ticket(draft)
    if ticket is not None:
        author = draft.mail.from_
        return AddComment(ticket_id=ticket.id, comment=new_comment(draft, author, public=False),
                          reopen=False)
    why = "; ".join(cls.reasons) or "classified as machine mail"
    return Suspend(kind=cls.kind, reason=f"{label} ({why})")
