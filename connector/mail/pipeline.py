"""The mail-to-ticket pipeline: an ordered chain of named steps, the first decision wins."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from connector.mail.decision import Arrival, Decision, MailContext, Trace
from connector.mail.model import ParsedMail
from connector.mail.steps.comment import build_comment
from connector.mail.steps.dedupe import dedupe
from connector.mail.steps.draft import Draft
from connector.mail.steps.forwarding_mail import recognise_forwarding_mail
from connector.mail.steps.loop import loop_guard
from connector.mail.steps.machine import handle_machine_mail
from connector.mail.steps.own_address import refuse_own_addresses
from connector.mail.steps.requester import pick_requester
from connector.mail.steps.thread_match import find_existing_ticket
from connector.mail.steps.too_complex import refuse_too_complex

Step = Callable[[Draft], "Decision | str"]

STEPS: tuple[Step, ...] = (
    refuse_too_complex,
    recognise_forwarding_mail,
    refuse_own_addresses,
    dedupe,
    find_existing_ticket,
    handle_machine_mail,
    loop_guard,
    pick_requester,
    build_comment,
)

# For mail a person released from suspension: the steps that hold mail back are left out, the
# ones that keep the store consistent (dedupe, threading, requester, comment) still run.
# Forwarding mail a person released (e.g. a confirmation no setup expected) is meant as a ticket.
HOLD_BACK_STEPS = frozenset({refuse_too_complex, recognise_forwarding_mail, refuse_own_addresses, handle_machine_mail, loop_guard})
RECOVERY_STEPS: tuple[Step, ...] = tuple(s for s in STEPS if s not in HOLD_BACK_STEPS)

DEFAULT_ATTACHMENT_MAX_BYTES = 50 * 1024 * 1024


def decide(mail: ParsedMail, arrival: Arrival, ctx: MailContext, now: datetime,
           attachment_max_bytes: int = DEFAULT_ATTACHMENT_MAX_BYTES,
           steps: tuple[Step, ...] = STEPS) -> Trace:
    """Run the steps in order; each either decides or says why it let the message pass.

    `steps` must end with a step that always decides (build_comment)."""
    draft = Draft(mail=mail, arrival=arrival, ctx=ctx, now=now, attachment_max_bytes=attachment_max_bytes)
    said: list[tuple[str, str]] = []
    for step in steps:
        outcome = step(draft)
        if isinstance(outcome, str):
            said.append((step.__name__, outcome))
            continue
        said.append((step.__name__, _describe(outcome)))
        return Trace(decision=outcome, steps=tuple(said))
    raise AssertionError("the last step always decides")  # pragma: no cover


def _describe(decision: Decision) -> str:
    reason = getattr(decision, "reason", None)
    if reason:
        return f"{type(decision).__name__}: {reason}"
    ticket_id = getattr(decision, "ticket_id", None)
    return f"{type(decision).__name__}" + (f" on ticket #{ticket_id}" if ticket_id is not None else "")
