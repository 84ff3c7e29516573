"""Recovering mail Gmail had refused to return: ask Gmail for its bytes again before it is decided again.

A message Gmail refused repeatedly over an hour was held back as a row without bytes
(jobs/fetching.py), so recovering it means fetching it first. Other held-back mail has its bytes
already and is left as it is.
"""
from __future__ import annotations

import hashlib

from sqlmodel import Session

from connector.gmail.port import GmailError
from connector.store.db import session_scope
from connector.store.models import Inbox, RawMail, SuspendedMail


class StillRefused(Exception):
    """Gmail still does not return the message: nothing recovered, the mail stays held back."""


def refetch_held_back(runtime, suspended_id: int) -> bool:
    """True when the held-back mail's bytes were fetched from Gmail now; raises StillRefused."""
    with Session(runtime.engine) as session:
        held = session.get(SuspendedMail, suspended_id)
        raw = session.get(RawMail, held.raw_mail_id) if held is not None and held.state == "suspended" else None
        if raw is None or raw.raw or raw.source != "gmail" or not raw.gmail_id or raw.inbox_id is None:
            return False
        inbox = session.get(Inbox, raw.inbox_id)
        raw_id, gmail_id, address = raw.id, raw.gmail_id, inbox.address if inbox else None
    if address is None:
        raise StillRefused(f"the inbox of held-back mail {suspended_id} no longer exists")
    gateway = runtime.open_gateway(address)
    try:
        result = gateway.fetch_raw([gmail_id])
    except GmailError as exc:
        raise StillRefused(f"Gmail refused again: {exc}") from exc
    finally:
        gateway.close()
    message = result.messages.get(gmail_id)
    if message is None:
        why = result.failed.get(gmail_id) or "Gmail no longer has it (deleted)"
        raise StillRefused(f"Gmail refused again: {why}")
    with session_scope(runtime.engine) as session:
        row = session.get(RawMail, raw_id)
        row.raw, row.size, row.sha256 = message.raw, len(message.raw), hashlib.sha256(message.raw).hexdigest()
        row.gmail_thread_id, row.label_ids = message.thread_id, ",".join(message.label_ids)
        row.error = None
        session.add(row)
    return True
