"""The dashboard's inbox, ticket and search pages: HTML over stored state, behind the dashboard's own auth."""
from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from connector.admin import chart_data
from connector.admin.attachment_links import RowId, links_for
from connector.admin.dashboard import SECURITY_HEADERS, unauthorised
from connector.admin.deps import read_session
from connector.admin.inbox_page import render_inbox_page
from connector.admin.layout import page
from connector.admin.search_page import render_search_page
from connector.admin.ticket_page import render_ticket_page
from connector.store.page_queries import inbox_page_data, search, ticket_page_data
from connector.store.types import utcnow

router = APIRouter(include_in_schema=False)
MAX_QUERY = 200


def _not_found(what: str) -> HTMLResponse:
    body = f"<h1>Not found</h1><p>{escape(what)}</p><p><a href=\"/\">Back to the overview</a></p>"
    return HTMLResponse(page("Not found: gmail-connector", "", body), status_code=404, headers=SECURITY_HEADERS)


@router.get("/dashboard/inboxes/{address}", response_class=HTMLResponse)
def inbox_view(address: str, request: Request) -> Response:
    if not request.app.state.auth.allows(request):
        return unauthorised()
    runtime, daemon, usage = request.app.state.runtime, request.app.state.daemon, request.app.state.usage
    now = utcnow()
    with read_session(runtime) as session:
        data = inbox_page_data(session, address)
        if data is None:
            return _not_found(f"No inbox {address} is connected.")
        charts = chart_data.collect(session, now, None, {}, inbox_id=data["inbox"].id)
    inbox = data["inbox"]
    next_run = daemon.next_run(inbox.address) if daemon is not None else inbox.next_run_at
    html = render_inbox_page(data, charts, chart_data.quota_of(usage, inbox.address), now, next_run,
                             can_sync=daemon is not None)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/dashboard/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_view(ticket_id: RowId, request: Request) -> Response:
    if not request.app.state.auth.allows(request):
        return unauthorised()
    runtime = request.app.state.runtime
    with read_session(runtime) as session:
        data = ticket_page_data(session, ticket_id)
    if data is None:
        return _not_found(f"No ticket #{ticket_id}.")
    html = render_ticket_page(data, utcnow(), links_for(runtime.settings))
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/dashboard/search", response_class=HTMLResponse)
def search_view(request: Request, q: str = "") -> Response:
    if not request.app.state.auth.allows(request):
        return unauthorised()
    q = q[:MAX_QUERY]
    with read_session(request.app.state.runtime) as session:
        found = search(session, q)
    return HTMLResponse(render_search_page(q, found, utcnow()), headers=SECURITY_HEADERS)
