"""Reads Gmail refused, per message: counted, so a message is given up only after repeated failures over an hour.

Gmail now and then refuses a read that succeeds on retry (a 400 "Precondition check failed.", a
500), so one refusal never holds mail back: the pass leaves the cursor where it is and the next
pass asks again. Only a message refused at least GIVE_UP_ATTEMPTS times over at least
GIVE_UP_AFTER is held back (visibly, with the count and the last error, and recoverable), so it
never blocks its inbox for good either.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from sqlalchemy import delete
from sqlmodel import Session, select

from connector.store.fetch_failure_models import FetchFailure

GIVE_UP_ATTEMPTS = 3
GIVE_UP_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class GivenUp:
    gmail_id: str
    reason: str                     # one line: how often, since when, Gmail's last words


def record_failures(session: Session, inbox_id: int, errors: Mapping[str, str], now: datetime) -> list[GivenUp]:
    """Count one more refusal for each id; the ids now given up (their counts are forgotten)."""
    given_up = []
    for gmail_id, error in errors.items():
        row = session.exec(select(FetchFailure).where(FetchFailure.inbox_id == inbox_id,
                                                      FetchFailure.gmail_id == gmail_id)).first()
        if row is None:
            row = FetchFailure(inbox_id=inbox_id, gmail_id=gmail_id, first_failed_at=now)
        row.attempts, row.last_failed_at, row.last_error = row.attempts + 1, now, error[:1000]
        if row.attempts >= GIVE_UP_ATTEMPTS and now - row.first_failed_at >= GIVE_UP_AFTER:
            hours = (now - row.first_failed_at).total_seconds() / 3600
            given_up.append(GivenUp(gmail_id, f"Gmail refused to return message {gmail_id} {row.attempts} times "
                                              f"over {hours:.1f} h; last: {error}"))
            if row.id is not None:
                session.delete(row)
            continue
        session.add(row)
    session.flush()
    return given_up


def forget_failures(session: Session, inbox_id: int, gmail_ids: Iterable[str]) -> None:
    """Fetched at last: the count starts afresh should Gmail refuse it again."""
    ids = list(gmail_ids)
    for start in range(0, len(ids), 500):
        session.execute(delete(FetchFailure).where(FetchFailure.inbox_id == inbox_id,
                                                   FetchFailure.gmail_id.in_(ids[start:start + 500])))
