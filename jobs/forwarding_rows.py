"""The forwarding jobs' access to an external address's row: short transactions, never held across Gmail or SMTP."""
from __future__ import annotations

from datetime import datetime

from connector.store.addresses import get_external, touch
from connector.store.db import session_scope
from connector.store.forwarding_models import ExternalAddress
from connector.store.inboxes import get_inbox
from connector.collaborators import Collaborators


class SetupError(Exception):
    """The setup cannot go on; the message says what to do."""


def snapshot(runtime: Collaborators, external: str) -> ExternalAddress:
    """The stored row, detached: read in a short transaction, never held across Gmail calls."""
    with session_scope(runtime.engine) as session:
        row = get_external(session, external)
        if row is None:
            raise SetupError(f"{external.lower()} is not an external address: gmail-connector addresses add "
                             f"{external.lower()} --group GROUP")
        session.expunge(row)
        return row


def has_gmail_grant(runtime: Collaborators, address: str) -> bool:
    with session_scope(runtime.engine) as session:
        return get_inbox(session, address) is not None


def require_gmail_grant(runtime: Collaborators, row: ExternalAddress) -> None:
    """The Gmail path changes the address's own settings, so it needs a grant for them."""
    if not has_gmail_grant(runtime, row.external_address):
        ext = row.external_address
        raise SetupError(f"{ext} has no Gmail grant to change its forwarding settings: connect it for its "
                         f"settings only (`gmail-connector inboxes add {ext} --service-account --forwarding` on "
                         f"Workspace, `--credentials FILE.json --forwarding` otherwise), or, for any other mail "
                         f"provider, run `gmail-connector forwarding setup {ext} --provider other`")


def save(runtime: Collaborators, external: str, now: datetime, **changes) -> ExternalAddress:
    with session_scope(runtime.engine) as session:
        row = get_external(session, external)
        touch(row, now, **changes)
        session.add(row)
        session.flush()
        session.expunge(row)
        return row
