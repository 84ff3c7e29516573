"""What the pipeline steps share while deciding one message: inputs plus what earlier steps found."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.mail.decision import Arrival, MailContext, TicketRef
from connector.mail.model import Address, ParsedMail

_UNSET = object()


@dataclass
class Draft:
    mail: ParsedMail
    arrival: Arrival
    ctx: MailContext
    now: datetime
    attachment_max_bytes: int
    requester: Address | None = None
    requester_note: str = ""          # where the requester came from when not from the headers
    _ticket: object = _UNSET
    ticket_found_by: str = ""

    @property
    def sender(self) -> str:
        return self.mail.from_.email

    def is_support_address(self, email: str) -> bool:
        return email.lower() in self.ctx.support_addresses

    @property
    def ticket_is_known(self) -> bool:
        return self._ticket is not _UNSET

    @property
    def ticket(self) -> TicketRef | None:
        return None if self._ticket is _UNSET else self._ticket  # type: ignore[return-value]

    def remember_ticket(self, ticket: TicketRef | None, found_by: str) -> None:
        self._ticket = ticket
        self.ticket_found_by = found_by
