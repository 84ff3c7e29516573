"""Keyset cursors of the status lists: the sort key of the last row shown, written as plain text.

Any value of a sort key is a position in its list, so every well-formed cursor is valid: a client can
neither break a page nor see more than the filters allow by editing one. Only its form is checked.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

# The id columns are 32-bit on PostgreSQL: a larger "before" means the same as the largest id.
MAX_ID = 2**31 - 1
TICKET_CURSOR = r"^[0-9]{1,18}$"                       # the id of the last ticket shown
SUSPENDED_CURSOR = r"^-?[0-9]{1,16}-[0-9]{1,18}$"      # received_at in epoch microseconds, then the id
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class BadCursor(ValueError):
    """Not the form of a cursor of this list (HTTP callers get a 422 from the route's pattern first)."""


def inbox_cursor(address: str) -> str:
    return address


def after_inbox(cursor: str) -> str:
    # No address holds a NUL (PostgreSQL text cannot): the part before it names the same position.
    return cursor.split("\x00", 1)[0]


def ticket_cursor(ticket_id: int) -> str:
    return str(ticket_id)


def before_ticket(cursor: str) -> int | None:
    """The id to page below; None when it is above every possible id (the same as no cursor)."""
    if not re.fullmatch(TICKET_CURSOR, cursor):
        raise BadCursor("a ticket cursor is the id of the last ticket shown")
    return int(cursor) if int(cursor) <= MAX_ID else None


def suspended_cursor(received_at: datetime, row_id: int) -> str:
    # Microseconds, not the seconds shown: two mails held back in one second must not tie.
    micros = (received_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{row_id}"


def after_suspended(cursor: str) -> tuple[datetime, int | None]:
    """(received_at, id) to page below; id None when above every possible id (every row of that instant)."""
    if not re.fullmatch(SUSPENDED_CURSOR, cursor):
        raise BadCursor("a held-back mail cursor is MICROSECONDS-ID of the last one shown")
    micros, row_id = cursor.rsplit("-", 1)
    return _EPOCH + timedelta(microseconds=int(micros)), int(row_id) if int(row_id) <= MAX_ID else None


def next_link(path: str, params: dict[str, Any], cursor: str | None) -> str | None:
    """The URL of the next page: the same filters, the new cursor; None on the last page."""
    if cursor is None:
        return None
    kept = {key: ("true" if value is True else value) for key, value in params.items()
            if value not in (None, "", False)}
    return f"{path}?{urlencode(kept | {'cursor': cursor})}"
