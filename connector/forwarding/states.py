"""The forwarding state machine of one external address: pure decisions from what Gmail reports.

not_configured -> awaiting_confirmation -> forwarding_active -> verified, and `failed` (with a reason
that says what to check) from anywhere. Only a successful verification leads to `verified`, so a
repair alone never re-opens outgoing mail. An address of another provider (PROVIDERS) has no API
to read: `forwarding setup` leaves it awaiting (the admin forwards it at the provider) and only the
test mail moves it on, to verified or failed, with the same reasons worded for that provider.
"""
from __future__ import annotations

from dataclasses import dataclass

NOT_CONFIGURED = "not_configured"
AWAITING = "awaiting_confirmation"
ACTIVE = "forwarding_active"
VERIFIED = "verified"
FAILED = "failed"
STATES = (NOT_CONFIGURED, AWAITING, ACTIVE, VERIFIED, FAILED)
GMAIL, OTHER = "gmail", "other"
PROVIDERS = (GMAIL, OTHER)
# States whose forwarding the daily re-check must still find in place.
WORKING = (ACTIVE, VERIFIED)


@dataclass(frozen=True)
class Plan:
    """What to do and where to land. `create_filter`: the forwarding filter must be (re)created."""
    state: str
    reason: str | None = None
    create_filter: bool = False


def plan(current: str, address_status: str | None, filter_present: bool, *, repair: bool,
         external: str = "", support: str = "") -> Plan:
    """The next state after reading Gmail's forwarding addresses and filters.

    `repair` is true for `forwarding setup` and the 30-second check (they may create the filter);
    false for the daily re-check, which only reports what broke."""
    if not repair and current not in WORKING:
        return Plan(current)
    if address_status != "accepted":
        if repair or current in (NOT_CONFIGURED, AWAITING):
            return Plan(AWAITING if address_status or current == AWAITING else NOT_CONFIGURED)
        return Plan(FAILED, address_lost(support, external, address_status))
    if filter_present:
        return Plan(VERIFIED if current == VERIFIED else ACTIVE)
    if repair:
        return Plan(ACTIVE, create_filter=True)
    return Plan(FAILED, filter_lost(support, external))


def address_lost(support: str, external: str, status: str | None) -> str:
    what = "was removed from" if status is None else f"is {status} again in"
    return (f"the forwarding address {support} {what} {external}'s Gmail settings (Forwarding and POP/IMAP); "
            f"run forwarding setup again, then forwarding verify")


def filter_lost(support: str, external: str) -> str:
    return (f"the filter forwarding {external}'s mail to {support} was deleted in Gmail; run forwarding "
            f"setup again (it recreates the filter), then forwarding verify")


def not_forwarded(external: str, support: str, seconds: int, provider: str = GMAIL) -> str:
    at_source = (f"{support} is confirmed in {external}'s Gmail forwarding settings, that the forwarding filter "
                 "exists" if provider == GMAIL else
                 f"{external}'s mail provider forwards it (forward everything, or a rule) to {support}, that "
                 "the provider allows forwarding outside its domain (Microsoft 365's outbound spam policy "
                 "blocks it by default)")
    return (f"the test mail sent to {external} did not reach {support} within {seconds}s: check that "
            f"{at_source}, that the MX of {support.partition('@')[2]} points at this daemon's SMTP receiver, and "
            f"that it is reachable from the internet on port 25")


def wrong_support_address(external: str, expected: str, arrived: str, provider: str = GMAIL) -> str:
    where = (f"the forward-to address of the filter (or auto-forwarding) in {external}'s Gmail settings"
             if provider == GMAIL else f"the forwarding target set for {external} at its mail provider")
    return (f"the test mail for {external} arrived at {arrived}, not at its support address {expected}: "
            f"check {where}")


def multi_hop(external: str, support: str, hops: int) -> str:
    return (f"multi-hop forwarding detected: the test mail crossed {hops} forwards before reaching {support}; "
            f"forward straight from {external} to {support}, not through another mailbox")


def doubt_requester(external: str, tickets: int) -> str:
    """Why an agent should doubt the requester of mail that crossed more than one forward."""
    return (f"{tickets} ticket(s) for {external} arrived through more than one forward: a mailbox between the "
            "customer and the helpdesk passed them on, so the sender shown may be that mailbox's user or a forged "
            "From that only the first hop's spam checks saw; confirm who the requester is before acting on "
            "account, payment or password requests")
