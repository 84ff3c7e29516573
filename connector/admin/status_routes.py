"""The status routes: GET /status (summary and first pages) and its paged, filterable lists under /status/."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated, Iterator, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from connector.admin.cursors import SUSPENDED_CURSOR, TICKET_CURSOR, BadCursor, next_link
from connector.admin.deps import read_session
from connector.admin.status import build_status
from connector.admin.status_pages import DEFAULT_LIMIT, MAX_LIMIT, inbox_page, suspended_page, ticket_page
from connector.admin.status_schemas import InboxPage, StatusView, SuspendedPage, TicketPage
from connector.store.status_queries import InboxFilter, SuspendedFilter, TicketFilter
from connector.store.types import utcnow

InboxState = Literal["active", "paused", "needs_reauth", "error"]
CredentialState = Literal["ok", "needs_reauth", "error"]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")]
Cursor = Annotated[str | None, Query(max_length=320, description="next_cursor of the page before: an address")]
TicketCursor = Annotated[str | None, Query(pattern=TICKET_CURSOR, description="next_cursor of the page before")]
SuspendedCursor = Annotated[str | None, Query(pattern=SUSPENDED_CURSOR,
                                              description="next_cursor of the page before")]
Search = Annotated[str | None, Query(max_length=200, description="part of the text, any case")]
_BAD_CURSOR = {422: {"description": "an invalid filter, limit or cursor form"}}

router = APIRouter()
# The routes answer JSONResponse themselves: the response models document the answers in /openapi.json
# (and test_openapi_fuzz holds every answer to them), but validating 1,000-odd nested fields again on
# every request cost as much as reading them from the database.


def _inbox_filter(state, credential, attention, q) -> InboxFilter:
    return InboxFilter(state=state, credential=credential, attention=attention, q=q or None)


@router.get("/status", response_model=StatusView, responses=_BAD_CURSOR,
            summary="the summary, one page of inboxes (filterable) and the newest tickets and held-back mail")
def status(request: Request, state: InboxState | None = None, credential: CredentialState | None = None,
           attention: bool = False, q: Search = None, cursor: Cursor = None,
           limit: Limit = DEFAULT_LIMIT) -> JSONResponse:
    app = request.app.state
    with read_session(app.runtime) as session, _cursor_errors():
        return JSONResponse(build_status(session, utcnow(), app.daemon, app.usage, app.runtime.settings,
                                         inboxes=_inbox_filter(state, credential, attention, q), cursor=cursor,
                                         limit=limit))


@router.get("/status/inboxes", response_model=InboxPage, responses=_BAD_CURSOR,
            summary="inboxes by address, a page at a time")
def inboxes(request: Request, state: InboxState | None = None, credential: CredentialState | None = None,
            attention: bool = False, q: Search = None, cursor: Cursor = None,
           limit: Limit = DEFAULT_LIMIT) -> JSONResponse:
    app = request.app.state
    with read_session(app.runtime) as session, _cursor_errors():
        page = inbox_page(session, utcnow(), _inbox_filter(state, credential, attention, q), cursor, limit,
                          app.daemon, app.usage)
    params = {"state": state, "credential": credential, "attention": attention, "q": q, "limit": limit}
    return JSONResponse(page | {"next": next_link("/status/inboxes", params, page["next_cursor"])})


@router.get("/status/tickets", response_model=TicketPage, responses=_BAD_CURSOR,
            summary="tickets, newest first, a page at a time")
def tickets(request: Request, status: Annotated[str | None, Query(max_length=40)] = None,
            inbox: Annotated[str | None, Query(max_length=320, description="the receiving inbox's address")] = None,
            q: Search = None, cursor: TicketCursor = None, limit: Limit = DEFAULT_LIMIT) -> JSONResponse:
    with read_session(request.app.state.runtime) as session, _cursor_errors():
        filters = TicketFilter(status=status or None, inbox=inbox or None, q=q or None)
        page = ticket_page(session, filters, cursor, limit)
    params = {"status": status, "inbox": inbox, "q": q, "limit": limit}
    return JSONResponse(page | {"next": next_link("/status/tickets", params, page["next_cursor"])})


@router.get("/status/suspended", response_model=SuspendedPage, responses=_BAD_CURSOR,
            summary="held-back mail, newest first, a page at a time")
def suspended(request: Request, state: Literal["suspended", "recovered", "deleted"] = "suspended",
              kind: Annotated[str | None, Query(max_length=40)] = None, q: Search = None,
              cursor: SuspendedCursor = None, limit: Limit = DEFAULT_LIMIT) -> JSONResponse:
    with read_session(request.app.state.runtime) as session, _cursor_errors():
        page = suspended_page(session, SuspendedFilter(state=state, kind=kind or None, q=q or None), cursor, limit)
    params = {"state": None if state == "suspended" else state, "kind": kind, "q": q, "limit": limit}
    return JSONResponse(page | {"next": next_link("/status/suspended", params, page["next_cursor"])})


@contextmanager
def _cursor_errors() -> Iterator[None]:
    """A cursor this server did not hand out is the client's mistake: 422, never a 500."""
    try:
        yield
    except BadCursor as error:
        raise HTTPException(422, str(error)) from error
