"""Final step: the comment, added to the ticket found earlier or opening a new ticket."""
from __future__ import annotations

from connector.mail.decision import AddComment, CreateTicket, Decision, NewComment
from connector.mail.model import Address, Attachment
from connector.mail.steps.draft import Draft

REOPENING_STATUSES = frozenset({"pending", "solved"})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def _within_limit(attachments: tuple[Attachment, ...], limit: int) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    kept, notes = [], []
    for att in attachments:
        if att.size > limit:
            # The ticket matters more than one file: drop the payload, tell the agent it existed.
            notes.append(f"attachment {att.filename or '(unnamed)'} ({_megabytes(att.size)}) over the "
                         f"{_megabytes(limit)} limit, not stored")
        else:
            kept.append(att)
    return tuple(kept), tuple(notes)


def new_comment(draft: Draft, author: Address, public: bool) -> NewComment:
    mail = draft.mail
    attachments, notes = _within_limit(mail.attachments, draft.attachment_max_bytes)
    if draft.requester_note:
        notes = (draft.requester_note, *notes)
    return NewComment(author=author, body_text=mail.body_text, body_html=mail.body_html, public=public,
                      message_id=mail.message_id, attachments=attachments, notes=notes,
                      cc=copied_customers(draft, author))


def copied_customers(draft: Draft, author: Address) -> tuple[Address, ...]:
    """The Cc'd people who become the helpdesk ticket's CCs: neither our addresses nor the author."""
    seen = {author.email.lower()}
    kept = []
    for person in draft.mail.cc:
        email = person.email.lower()
        if email and "@" in email and email not in seen and not draft.is_support_address(email):
            seen.add(email)
            kept.append(person)
    return tuple(kept[:20])


def forwarding_flags(draft: Draft) -> tuple[str, ...]:
    mail = draft.mail
    flags = []
    if mail.classification.kind == "bulk":
        flags.append("bulk")
    delivered = {v.strip().lower() for v in mail.header_all("Delivered-To")}
    hops = max(len(mail.header_all("X-Forwarded-To")), len(mail.header_all("X-Forwarded-For")))
    if hops > 1 or len(delivered) > 1:
        flags.append("multi_forward")
    return tuple(flags)


def build_comment(draft: Draft) -> Decision | str:
    """Everything before this let the message through: it becomes a public customer comment."""
    author = draft.requester or draft.mail.from_
    comment = new_comment(draft, author, public=True)
    ticket = draft.ticket
    if ticket is not None:
        # Steps before refused our own addresses, so this sender is a customer.
        return AddComment(ticket_id=ticket.id, comment=comment, reopen=ticket.status in REOPENING_STATUSES)
    return CreateTicket(subject=draft.mail.subject.strip() or "(no subject)", requester=author,
                        group=draft.arrival.group, received_at_address=draft.arrival.received_at_address,
                        comment=comment, flags=forwarding_flags(draft))
