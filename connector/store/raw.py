"""Storing raw mail before anything acts on it, once per (inbox, Gmail id)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connector.store.models import RawMail
from connector.store.types import utcnow


def store_raw(session: Session, source: str, raw: bytes, inbox_id: int | None = None,
              gmail_id: str | None = None, thread_id: str | None = None, label_ids: Iterable[str] = (),
              internal_date: datetime | int | None = None, message_id: str = "", from_email: str = "", *,
              subject: str = "", envelope_from: str | None = None, envelope_to: Iterable[str] = (),
              received_at: datetime | None = None) -> RawMail | None:
    """Insert one received message; None when this inbox already stored this Gmail id.

    `internal_date` is Gmail's internalDate: an aware datetime or epoch milliseconds.
    """
    if gmail_id is not None and inbox_id is not None and _already_stored(session, inbox_id, gmail_id):
        return None
    row = RawMail(
        source=source, inbox_id=inbox_id, gmail_id=gmail_id, gmail_thread_id=thread_id,
        label_ids=",".join(label_ids), message_id=message_id, from_email=from_email.lower(),
        subject=subject, sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), raw=raw,
        received_at=received_at or utcnow(), internal_date=_as_datetime(internal_date),
        envelope_from=envelope_from, envelope_to=",".join(envelope_to),
    )
    # A concurrent sync of the same inbox may insert between our check and our insert; the
    # unique constraint decides, and the savepoint keeps the caller's transaction usable.
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def _already_stored(session: Session, inbox_id: int, gmail_id: str) -> bool:
    query = select(RawMail.id).where(RawMail.inbox_id == inbox_id, RawMail.gmail_id == gmail_id)
    return session.exec(query).first() is not None


def _as_datetime(value: datetime | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def mark_processed(session: Session, row: RawMail, outcome: str, now: datetime) -> None:
    """The one way a stored message leaves `pending`: with what happened to it, in the caller's transaction."""
    row.state, row.outcome, row.processed_at, row.error = "processed", outcome, now, None
    session.add(row)


@dataclass(frozen=True)
class PendingMail:
    """A stored message's row without its bytes, as deciding and applying it needs it.

    Read for a whole write transaction in one statement: loading one ORM object per message and
    flushing each change costs more than the database work itself."""
    id: int
    source: str
    inbox_id: int | None
    gmail_id: str | None
    gmail_thread_id: str | None
    label_ids: str
    envelope_from: str | None
    envelope_to: str
    received_at: datetime
    state: str
    message_id: str
    from_email: str
    subject: str

    def described(self, message_id: str, from_email: str, subject: str) -> PendingMail:
        """What the listings show of it, known only once it is read."""
        return replace(self, message_id=message_id, from_email=from_email.lower(), subject=subject[:500])


_PENDING_COLUMNS = [getattr(RawMail, name) for name in PendingMail.__dataclass_fields__]
_PENDING = select(*_PENDING_COLUMNS).where(RawMail.id.in_(bindparam("ids", expanding=True))).order_by(RawMail.id)
_PENDING_LOCKED = _PENDING.with_for_update()


def pending_mails(connection: Connection, ids: Sequence[int]) -> dict[int, PendingMail]:
    """The rows of these stored messages (in any state), locked until the caller's transaction ends.

    Locked in id order, so two passes over the same rows take turns rather than deadlock."""
    if not ids:
        return {}
    rows = connection.execute(_PENDING_LOCKED, {"ids": list(ids)})
    return {row.id: PendingMail(*row) for row in rows}


_PROCESSED = (update(RawMail).where(RawMail.id == bindparam("row_id"))
              .values(state="processed", error=None, outcome=bindparam("told"),
                      processed_at=bindparam("at"), message_id=bindparam("mid"),
                      from_email=bindparam("sender"), subject=bindparam("subj")))


def mark_mail_processed(connection: Connection, mail: PendingMail, outcome: str, now: datetime) -> None:
    """`mark_processed` for a `PendingMail`: one statement, also writing what `described` learnt."""
    connection.execute(_PROCESSED, {"row_id": mail.id, "told": outcome, "at": now,
                                    "mid": mail.message_id, "sender": mail.from_email, "subj": mail.subject})


def store_fetched_batch(session: Session, inbox_id: int, messages: Iterable[dict], received_at: datetime) -> list[int]:
    """Insert many Gmail messages of one inbox in one statement; ids of the rows new to the store, in order.

    Each dict has gmail_id, thread_id, label_ids, internal_date (epoch ms or None), raw, and optionally
    error. A Gmail id this inbox already holds is left alone (the unique key decides), so a
    concurrent pass over the same inbox costs nothing twice."""
    rows = [{"source": "gmail", "inbox_id": inbox_id, "gmail_id": m["gmail_id"], "gmail_thread_id": m.get("thread_id"),
             "label_ids": ",".join(m.get("label_ids", ())), "message_id": "", "from_email": "", "subject": "",
             "sha256": hashlib.sha256(m["raw"]).hexdigest(), "size": len(m["raw"]), "raw": m["raw"],
             "received_at": received_at, "internal_date": _as_datetime(m.get("internal_date")),
             "envelope_from": None, "envelope_to": "", "state": "pending", "outcome": "", "error": m.get("error")}
            for m in messages]
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        statement = module.insert(RawMail).on_conflict_do_nothing(index_elements=["inbox_id", "gmail_id"])
        result = session.execute(statement.returning(RawMail.id, sort_by_parameter_order=True), rows)
        return [row_id for (row_id,) in result]
    ids = []   # another database: one by one, the unique key still deciding
    for row in rows:
        try:
            with session.begin_nested():
                ids.append(session.execute(insert(RawMail).returning(RawMail.id), row).scalar_one())
        except IntegrityError:
            continue
    return ids
