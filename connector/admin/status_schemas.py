"""Response models of the paged status: /status with its pages, and the /status/* lists behind them."""
from __future__ import annotations

from pydantic import BaseModel, Field

from connector.admin.schemas import HelpdeskLink, InboxStatus, Status, SuspendedRow, TicketRow

NEXT = "the URL of the next page (same filters, the next cursor); null on the last page"
CURSOR = "pass as ?cursor= to get the next page; null on the last page"


class InboxPage(BaseModel):
    items: list[InboxStatus]
    next_cursor: str | None = Field(description=CURSOR)
    next: str | None = Field(description=NEXT)


class TicketListRow(TicketRow):
    helpdesk: list[HelpdeskLink] = Field(default_factory=list,
                                         description="this ticket in the helpdesk, once delivered")


class TicketPage(BaseModel):
    items: list[TicketListRow]
    next_cursor: str | None = Field(description=CURSOR)
    next: str | None = Field(description=NEXT)


class SuspendedPage(BaseModel):
    items: list[SuspendedRow]
    next_cursor: str | None = Field(description=CURSOR)
    next: str | None = Field(description=NEXT)


class InboxesPageInfo(BaseModel):
    limit: int | None = Field(description="inboxes per page; null when every inbox is on this one (the CLI)")
    next_cursor: str | None = Field(description="pass to GET /status/inboxes?cursor= (or /status?cursor=)")
    next: str | None = Field(description=NEXT)


class NeedsAttention(BaseModel):
    count: int = Field(description="inboxes whose credential state is needs_reauth or error")
    inboxes: list[InboxStatus] = Field(description="the first 20 of them by address, each with its fix")
    next: str | None = Field(description="the rest: GET /status/inboxes?attention=true&cursor=...")


class StatusView(Status):
    """GET /status: the summary, one page of inboxes, and the head of every other list."""
    inboxes: list[InboxStatus] = Field(description="one page of inboxes by address (?limit, ?cursor, filters)")
    inboxes_page: InboxesPageInfo
    needs_attention: NeedsAttention
    tickets: TicketPage = Field(description="the 20 newest tickets; more: GET /status/tickets")
    suspended: SuspendedPage = Field(description="the 20 newest held-back mails; more: GET /status/suspended")
