"""The forwarding filter in the external mailbox: found among Gmail's filters, created, replaced when outdated."""
from __future__ import annotations

from datetime import datetime, timedelta

from connector.forwarding.criteria import is_our_filter, legacy_criteria
from connector.gmail.port import GmailGateway, InvalidRequest, NotFound, TransientError
from connector.store.forwarding_models import ExternalAddress

GMAIL_FILTER_CAP = 1000
RULES_BACKOFF_FLOOR = timedelta(minutes=5)
RULES_BACKOFF_CAP = timedelta(hours=6)


def rules_retry_at(now: datetime, refusals: int, stated_seconds: float | None) -> datetime:
    """When to try a forwarding change again after Gmail's forwarding-rules limit refused one.

    Never before our own exponential floor (5 min, 10, 20 ... up to 6 h): the retry time Gmail states
    for this limit is unreliable (issue 16, item 5), so it only ever lengthens the wait."""
    own = min(RULES_BACKOFF_FLOOR * (2 ** min(refusals, 10)), RULES_BACKOFF_CAP)
    return now + max(own, timedelta(seconds=stated_seconds or 0))


def rules_deferred(row: ExternalAddress, what: str, when: datetime, by_itself: bool = True) -> str:
    then = ("the connector tries again by itself after {} UTC (or run forwarding setup again then)" if by_itself
            else "run forwarding setup again after {} UTC")
    return (f"Gmail's limit on changing forwarding rules refused {what} for {row.external_address}; "
            + then.format(f"{when:%Y-%m-%d %H:%M}"))


def create_filter(gateway: GmailGateway, row: ExternalAddress, wanted: dict, action: dict) -> tuple[str | None, str]:
    """The new filter's id, or why Gmail will not take it (the mailbox is at its filter cap)."""
    try:
        return gateway.create_filter(wanted, action).id, ""
    except InvalidRequest as exc:
        if "already exists" not in str(exc).lower():
            raise
        found = find_filter(gateway, row, wanted, repair=False)     # a person made the same one meanwhile
        return found, "" if found else str(exc)
    except TransientError:
        # Gmail answers the 1,001st filter with a plain 500 (elie222/inbox-zero#1192): count to tell.
        if len(gateway.filters()) >= GMAIL_FILTER_CAP:
            return None, (f"{row.external_address} has {GMAIL_FILTER_CAP} Gmail filters, Gmail's limit: delete one "
                          "in Gmail's settings, then run `gmail-connector forwarding setup` again")
        raise


def find_filter(gateway: GmailGateway, row: ExternalAddress, wanted: dict, repair: bool) -> str | None:
    """Our filter among Gmail's; with `repair`, a stored filter with outdated criteria is removed."""
    found = None
    legacy = legacy_criteria(row.external_address) if not row.criteria else None
    for rule in gateway.filters():
        if is_our_filter(rule.criteria, rule.action, wanted, row.support_address):
            found = found or rule.id
        elif legacy and is_our_filter(rule.criteria, rule.action, legacy, row.support_address):
            if not repair:
                found = found or rule.id       # still forwards; `forwarding setup` again replaces it
                continue
            try:
                gateway.delete_filter(rule.id)     # the to: filter missed mail forwarded or Bcc'd to the address
            except NotFound:
                pass
        elif repair and rule.id == row.filter_id:
            try:
                gateway.delete_filter(rule.id)     # criteria changed by `setup --criteria`
            except NotFound:
                pass
    return found
