"""Where a stored message belongs: the Gmail inbox it was synced from, or the support address it reached."""
from __future__ import annotations

from dataclasses import dataclass
from email.utils import getaddresses
from typing import Iterable, Mapping

from sqlalchemy import bindparam, select
from sqlmodel import Session

from connector.mail.model import ParsedMail
from connector.store.addresses import support_routes
from connector.store.models import Inbox, RawMail
from connector.store.raw import PendingMail

DEFAULT_GROUP = "Support"
# In the order they are trusted: the envelope is what our server was told; these headers are what
# earlier hops (Gmail, another MTA) recorded about the address the message was delivered to.
ROUTING_HEADERS = ("Delivered-To", "X-Forwarded-To", "X-Original-To")


@dataclass(frozen=True)
class Route:
    """How mail reaching one address is routed: which inbox/support address, which group."""
    inbox_address: str
    received_at_address: str
    group: str


def route_of(session: Session, row: RawMail | PendingMail, mail: ParsedMail) -> Route:
    """The route the mail took on arrival; SMTP mail whose address was removed since is kept, generally routed."""
    return Routes(session).of(row, mail)


_INBOX = select(Inbox.address, Inbox.group).where(Inbox.id == bindparam("inbox"))


class Routes:
    """`route_of` for the messages of one transaction: each inbox and the support addresses are read once.

    They change only by an admin's action, which SQLite runs before or after the transaction, never inside."""

    def __init__(self, session: Session):
        self._session = session
        self._inboxes: dict[int, Route | None] = {}
        self._known: dict[str, str] | None = None

    def of(self, row: RawMail | PendingMail, mail: ParsedMail) -> Route:
        route = self._inbox(row.inbox_id) if row.inbox_id is not None else None
        if route is not None:
            return route
        if self._known is None:
            self._known = support_routes(self._session)
        rcpts = [r for r in (row.envelope_to or "").split(",") if r]
        address = pick_support_address(rcpts, mail.headers, self._known)
        if address is None:
            address = rcpts[0] if rcpts else ""
            return Route(address, address, DEFAULT_GROUP)
        return Route(address, address, self._known[address])

    def _inbox(self, inbox_id: int) -> Route | None:
        if inbox_id not in self._inboxes:
            found = self._session.connection().execute(_INBOX, {"inbox": inbox_id}).first()
            self._inboxes[inbox_id] = Route(found.address, found.address, found.group) if found else None
        return self._inboxes[inbox_id]


def pick_support_address(envelope_rcpts: Iterable[str], headers: Iterable[tuple[str, str]],
                         known: Mapping[str, str]) -> str | None:
    """The first known support address among the envelope recipients, then the routing headers.

    Several support addresses may receive one message; the first decides, so it is ticketed once."""
    for address in envelope_rcpts:
        if address.strip().lower() in known:
            return address.strip().lower()
    headers = list(headers)
    for name in ROUTING_HEADERS:
        values = [value[:2000] for key, value in headers if key.lower() == name.lower()]
        for _, email in getaddresses(values):
            if email.lower() in known:
                return email.lower()
    return None
