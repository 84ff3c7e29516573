"""Step: mail about the forwarding setup itself is set aside for the setup, before any other rule."""
from __future__ import annotations

from connector.forwarding.confirmation import is_confirmation, parse_confirmation
from connector.forwarding.verification import HEADER, count_hops, token_in
from connector.mail.decision import Decision, ForwardingMail, Skip
from connector.mail.steps.draft import Draft


def recognise_forwarding_mail(draft: Draft) -> Decision | ForwardingMail | str:
    """Google's confirmation mail looks like an auto-reply and our test mail comes from an address of
    our own; both would be held back by the steps after this one, yet the setup needs them."""
    mail, arrival = draft.mail, draft.arrival
    if is_confirmation(mail.from_.email, mail.subject):
        found = parse_confirmation(mail.subject, mail.body_text)
        code = f"code {found.code}" if found.code else "no code"
        return ForwardingMail(kind="confirmation", received_at_address=arrival.received_at_address,
                              requested_by=found.requested_by, code=found.code, link=found.link,
                              reason=f"Gmail forwarding confirmation from {found.requested_by or '(unknown)'} "
                                     f"for {arrival.received_at_address} ({code})")
    token = token_in(mail.subject, mail.header(HEADER))
    if token is None:
        return "not about forwarding"
    if arrival.source != "smtp":
        return Skip(reason=f"forwarding test mail seen in {arrival.inbox_address} itself; it counts only "
                           "when it arrives forwarded at the support address")
    hops = count_hops(mail.headers, arrival.received_at_address)
    return ForwardingMail(kind="verification", received_at_address=arrival.received_at_address, token=token,
                          hops=hops, reason=f"forwarding test mail ({hops} forward(s)) at "
                                            f"{arrival.received_at_address}")
