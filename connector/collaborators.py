"""What every job and daemon part is handed by the composition root (connector/bootstrap.py), one shape for all."""
from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from connector.gmail.port import GmailGateway
from connector.outbound.senders import Outbound
from connector.settings import Settings
from connector.ticketing.ticket_mail import Ticketing


class Collaborators(Protocol):
    """Built once per process; jobs take it as their first argument and never build adapters themselves."""
    settings: Settings
    engine: Engine
    ticketing: Ticketing        # stored raw mail to tickets, the same way for every source
    outbound: Outbound          # the relay and DKIM key for replies that do not leave through Gmail

    def open_gateway(self, address: str) -> GmailGateway:
        """The Gmail port for a connected inbox, from its stored grant; the caller closes it."""
        ...
