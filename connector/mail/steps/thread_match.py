"""Step: find the ticket this message continues, by headers, by Gmail thread, or by subject token."""
from __future__ import annotations

import re

from connector.mail.decision import Decision, TicketRef
from connector.mail.steps.draft import Draft

_TICKET_TOKEN = re.compile(r"\[#(\d{1,12})\]")


def locate_ticket(draft: Draft) -> TicketRef | None:
    """The thread target, looked up once and remembered for later steps."""
    if not draft.ticket_is_known:
        draft.remember_ticket(*_search(draft))
    return draft.ticket


def _search(draft: Draft) -> tuple[TicketRef | None, str]:
    mail, ctx, arrival = draft.mail, draft.ctx, draft.arrival
    ids = [i for i in ((mail.in_reply_to,) + mail.references) if i]
    if ids and (ticket := ctx.ticket_for_message_ids(list(dict.fromkeys(ids)))):
        return ticket, "In-Reply-To/References"
    if arrival.gmail_thread_id:
        ticket = ctx.ticket_for_gmail_thread(arrival.inbox_address, arrival.gmail_thread_id)
        if ticket:
            return ticket, "Gmail thread"
    for token in _TICKET_TOKEN.findall(mail.subject):
        ticket = ctx.ticket_by_id(int(token))
        # A token alone is guessable; only someone already on the ticket may thread by it.
        if ticket and draft.sender and draft.sender in ticket.participants:
            return ticket, f"subject token [#{token}]"
    return None, ""


def find_existing_ticket(draft: Draft) -> Decision | str:
    """Replies belong on the ticket they answer, not on a new ticket per message."""
    ticket = locate_ticket(draft)
    if ticket is None:
        return "no existing ticket: a new one would be created"
    return f"continues ticket #{ticket.id} (found by {draft.ticket_found_by})"
