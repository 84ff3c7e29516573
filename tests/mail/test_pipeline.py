"""The mail-to-ticket pipeline, one rule at a time, against an in-memory read side of the store."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import pytest

from connector.mail.decision import (LOOP_MAX_PER_WINDOW, AddComment, Arrival, CreateTicket, Skip,
                                     Suspend, TicketRef)
from connector.mail.parse import parse_mail
from connector.mail.pipeline import RECOVERY_STEPS, STEPS, decide

NOW = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)
SUPPORT = "help@shop.example"


@dataclass
class Tickets:
    """Stateful fake of the store's read side: tickets, their message ids and threads."""
    support_addresses: frozenset[str] = frozenset({SUPPORT, "billing@shop.example"})
    tickets: dict[int, TicketRef] = field(default_factory=dict)
    message_ids: dict[str, int] = field(default_factory=dict)
    threads: dict[tuple[str, str], int] = field(default_factory=dict)
    sent: dict[str, list[datetime]] = field(default_factory=dict)
    comments: set[tuple[int, str]] = field(default_factory=set)   # comments the id index misses

    def add(self, ticket_id: int, status: str = "open", participants=("ann@x.example",), ids=()) -> TicketRef:
        self.tickets[ticket_id] = TicketRef(ticket_id, status, frozenset(participants))
        self.message_ids.update({mid: ticket_id for mid in ids})
        return self.tickets[ticket_id]

    def ticket_for_message_ids(self, message_ids):
        return next((self.tickets[self.message_ids[m]] for m in message_ids if m in self.message_ids), None)

    def ticket_for_gmail_thread(self, inbox_address, thread_id):
        ticket_id = self.threads.get((inbox_address, thread_id))
        return self.tickets.get(ticket_id) if ticket_id else None

    def ticket_by_id(self, ticket_id):
        return self.tickets.get(ticket_id)

    def comment_exists(self, ticket_id, message_id):
        return self.message_ids.get(message_id) == ticket_id or (ticket_id, message_id) in self.comments

    def recent_mail_count(self, sender_email, since):
        return sum(1 for t in self.sent.get(sender_email, []) if t >= since)


ARRIVAL = Arrival(source="gmail", inbox_address=SUPPORT, received_at_address=SUPPORT, group="Support",
                  received_at=NOW, gmail_id="g1", gmail_thread_id="t1")


def msg(extra: str = "", sender: str = "Ann <ann@x.example>", subject: str = "Help", body: str = "Hi") -> bytes:
    head = f"From: {sender}\nTo: {SUPPORT}\nSubject: {subject}\nMessage-ID: <m1@x.example>\n{extra}".strip()
    return (head + "\n\n" + body + "\n").replace("\n", "\r\n").encode()


def run(raw: bytes, ctx: Tickets | None = None, arrival: Arrival = ARRIVAL, **kw):
    return decide(parse_mail(raw), arrival, ctx or Tickets(), NOW, **kw)


def test_mail_read_only_in_part_is_held_back_and_a_person_can_still_release_it():
    mail = replace(parse_mail(msg()), too_complex="too complex: 1,200 nested MIME parts")
    held = decide(mail, ARRIVAL, Tickets(), NOW).decision
    assert isinstance(held, Suspend) and held.kind == "too_complex"
    assert held.reason.startswith("too complex: 1,200 nested MIME parts")
    released = decide(mail, ARRIVAL, Tickets(), NOW, steps=RECOVERY_STEPS).decision
    assert isinstance(released, CreateTicket) and released.requester.email == "ann@x.example"


@pytest.mark.parametrize("envelope, extra, expected, source", [
    ("jo@x.example", "", "jo@x.example", "envelope sender"),
    ("", "Return-Path: <rp@x.example>", "rp@x.example", "Return-Path"),
    ("help@shop.example", "Return-Path: <rp@x.example>", "rp@x.example", "Return-Path"),
])
def test_mail_without_a_usable_from_takes_its_requester_from_the_envelope(envelope, extra, expected, source):
    arrival = replace(ARRIVAL, source="smtp", envelope_from=envelope)
    ticket = run(msg(extra, sender="no address here"), arrival=arrival).decision
    assert isinstance(ticket, CreateTicket) and ticket.requester.email == expected
    assert f"requester {expected} taken from the {source}" in ticket.comment.notes[0]


def test_mail_without_any_sender_still_becomes_a_ticket_without_requester():
    ticket = run(b"Subject: nobody\r\n\r\nhello\r\n").decision
    assert isinstance(ticket, CreateTicket) and ticket.requester.email == ""


def test_steps_are_in_the_agreed_order_and_documented():
    assert [s.__name__ for s in STEPS] == ["refuse_too_complex", "recognise_forwarding_mail", "refuse_own_addresses", "dedupe", "find_existing_ticket",
                                           "handle_machine_mail", "loop_guard", "pick_requester", "build_comment"]
    assert all(s.__doc__ for s in STEPS)


def test_new_mail_creates_a_ticket_and_the_trace_reads_well():
    trace = run(msg())
    ticket = trace.decision
    assert isinstance(ticket, CreateTicket)
    assert (ticket.subject, ticket.requester.email, ticket.group, ticket.received_at_address) == \
        ("Help", "ann@x.example", "Support", SUPPORT)
    assert ticket.comment.public and ticket.comment.message_id == "m1@x.example" and ticket.flags == ()
    assert [name for name, _ in trace.steps] == [s.__name__ for s in STEPS]
    assert trace.steps[-1] == ("build_comment", "CreateTicket")


def test_empty_subject_gets_a_placeholder():
    assert run(msg(subject="  ")).decision.subject == "(no subject)"


def test_mail_from_a_support_address_is_suspended():
    decision = run(msg(sender=f"Help <{SUPPORT.upper()}>")).decision
    assert decision == Suspend(kind="own_address", reason=f"received from a support address ({SUPPORT})")


def test_message_already_held_is_skipped():
    ctx = Tickets()
    ctx.add(7, ids=["m1@x.example"])
    decision = run(msg(), ctx).decision
    assert isinstance(decision, Skip) and "#7" in decision.reason


def test_reply_threads_by_references_and_reopens_a_solved_ticket():
    ctx = Tickets()
    ctx.add(3, status="solved", ids=["agent-reply@shop.example"])
    decision = run(msg("In-Reply-To: <agent-reply@shop.example>"), ctx).decision
    assert isinstance(decision, AddComment) and decision.ticket_id == 3 and decision.reopen
    assert decision.comment.public


def test_reply_to_open_ticket_does_not_reopen():
    ctx = Tickets()
    ctx.add(3, status="open", ids=["root@shop.example"])
    decision = run(msg("References: <other@x.example> <root@shop.example>"), ctx).decision
    assert decision.ticket_id == 3 and decision.reopen is False


def test_gmail_thread_of_the_same_inbox_threads():
    ctx = Tickets()
    ctx.add(4, status="pending")
    ctx.threads[(SUPPORT, "t1")] = 4
    trace = run(msg(), ctx)
    assert trace.decision.ticket_id == 4 and trace.decision.reopen
    assert ("find_existing_ticket", "continues ticket #4 (found by Gmail thread)") in trace.steps


def test_subject_token_threads_only_for_participants():
    ctx = Tickets()
    ctx.add(123, participants=("ann@x.example",))
    assert run(msg(subject="Re: [#123] Help"), ctx).decision.ticket_id == 123
    stranger = run(msg(subject="Re: [#123] Help", sender="eve@evil.example"), ctx).decision
    assert isinstance(stranger, CreateTicket)


def test_duplicate_comment_on_thread_target_is_skipped():
    ctx = Tickets()
    ctx.add(5)
    ctx.threads[(SUPPORT, "t1")] = 5
    ctx.comments.add((5, "m1@x.example"))
    decision = run(msg(), ctx).decision
    assert isinstance(decision, Skip) and "comment on ticket #5" in decision.reason


@pytest.mark.parametrize("extra,kind", [
    ("Auto-Submitted: auto-replied", "auto_reply"),
    ("X-Failed-Recipients: bob@x.example", "bounce"),
])
def test_unlinked_machine_mail_is_suspended_with_its_reasons(extra, kind):
    decision = run(msg(extra)).decision
    assert isinstance(decision, Suspend) and decision.kind == kind
    assert extra.split(":")[0] in decision.reason


def test_machine_mail_on_a_ticket_is_a_private_note_that_never_reopens():
    ctx = Tickets()
    ctx.add(9, status="solved", ids=["ours@shop.example"])
    decision = run(msg("In-Reply-To: <ours@shop.example>\nAuto-Submitted: auto-replied",
                       subject="Out of Office"), ctx).decision
    assert isinstance(decision, AddComment) and decision.ticket_id == 9
    assert decision.comment.public is False and decision.reopen is False


def test_loop_guard_suspends_a_flooding_sender():
    ctx = Tickets()
    ctx.sent["ann@x.example"] = [NOW - timedelta(minutes=m) for m in range(LOOP_MAX_PER_WINDOW)]
    decision = run(msg(), ctx).decision
    assert isinstance(decision, Suspend) and decision.kind == "loop"
    ctx.sent["ann@x.example"] = [NOW - timedelta(hours=2)] * 50    # old mail does not count
    assert isinstance(run(msg(), ctx).decision, CreateTicket)


def test_requester_is_reply_to_unless_that_is_a_support_address():
    assert run(msg("Reply-To: Carl <carl@y.example>")).decision.requester.email == "carl@y.example"
    own = run(msg("Reply-To: billing@shop.example")).decision
    assert own.requester.email == "ann@x.example" and own.comment.author.email == "ann@x.example"


def test_bulk_and_multi_forward_flags():
    bulk = run(msg("List-Id: <news.x.example>")).decision
    assert isinstance(bulk, CreateTicket) and bulk.flags == ("bulk",)
    hops = run(msg("Delivered-To: a@shop.example\nDelivered-To: help@shop.example")).decision
    assert hops.flags == ("multi_forward",)
    one_hop = run(msg("X-Forwarded-To: help@shop.example\nX-Forwarded-For: a@x help@shop.example")).decision
    assert one_hop.flags == ()


def test_oversized_attachment_becomes_a_note_and_the_ticket_is_still_created():
    body = ("--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: application/octet-stream\n"
            "Content-Disposition: attachment; filename=big.iso\n\n" + "x" * 3000 + "\n--b\n"
            "Content-Type: image/png\nContent-Disposition: attachment; filename=small.png\n\npng\n--b--")
    raw = msg('MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"', body=body)
    decision = run(raw, attachment_max_bytes=1024).decision
    assert isinstance(decision, CreateTicket)
    assert [a.filename for a in decision.comment.attachments] == ["small.png"]
    assert len(decision.comment.notes) == 1 and decision.comment.notes[0].startswith("attachment big.iso")


def test_recovery_runs_without_the_hold_back_steps():
    assert [s.__name__ for s in RECOVERY_STEPS] == ["dedupe", "find_existing_ticket", "pick_requester",
                                                    "build_comment"]
    released = decide(parse_mail(msg("Auto-Submitted: auto-replied")), ARRIVAL, Tickets(), NOW,
                      steps=RECOVERY_STEPS).decision
    assert isinstance(released, CreateTicket) and released.comment.public
    ctx = Tickets()
    ctx.add(7, ids=["m1@x.example"])
    assert isinstance(decide(parse_mail(msg()), ARRIVAL, ctx, NOW, steps=RECOVERY_STEPS).decision, Skip)


def test_mail_without_from_but_with_reply_to_says_so_on_the_ticket():
    ticket = run(b"Reply-To: <r@x.example>\r\nSubject: a form\r\nMessage-ID: <nofrom@x.example>\r\n\r\nhello\r\n").decision
    assert isinstance(ticket, CreateTicket) and ticket.requester.email == "r@x.example"
    assert "taken from the Reply-To: the mail has no usable From" in ticket.comment.notes[0]
