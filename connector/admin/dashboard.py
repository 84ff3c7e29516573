"""The dashboard route: one HTML page for people, with a one-time ?token= that becomes a cookie."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connector.admin import chart_data
from connector.admin.deps import read_session
from connector.admin.render import HELD_BACK_SHOWN, RECENT_TICKETS, render_dashboard
from connector.admin.status import build_status
from connector.admin.status_pages import suspended_page
from connector.store.page_queries import recent_ticket_rows
from connector.store.types import utcnow

router = APIRouter()
# Stored mail is hostile input: even if escaping ever failed, the page could run no script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
}
LOGIN_HELP = ("<!doctype html><html lang='en'><meta charset='utf-8'>"
              "<meta name='viewport' content='width=device-width, initial-scale=1'><title>gmail-connector: sign in</title>"
              "<main><h1>Sign in</h1><p>This dashboard needs the admin token. Open "
              "<code>/?token=YOUR_ADMIN_TOKEN</code> once; the browser then keeps a cookie. (ADMIN_TOKEN is in the "
              "daemon's settings.)</p></main></html>")


@router.get("/", response_class=HTMLResponse, summary="the HTML dashboard",
            responses={303: {"description": "token accepted; cookie set"}, 401: {"description": "no valid token"}})
def dashboard(request: Request, token: str | None = None, refresh: str | None = None,
              inboxes_after: str | None = None) -> Response:
    auth = request.app.state.auth
    if token is not None:
        if not auth.token_matches(token):
            return unauthorised()
        # Redirect so the token leaves the address bar and the 30 s refresh does not repeat it.
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        auth.set_cookie(response)
        return response
    if not auth.allows(request):
        return unauthorised()
    runtime, daemon = request.app.state.runtime, request.app.state.daemon
    now = utcnow()
    with read_session(runtime) as session:
        # One page of inboxes (by address, after `inboxes_after`), as /status serves them.
        status = build_status(session, now, daemon, request.app.state.usage, runtime.settings,
                              cursor=inboxes_after or None)
        status["inboxes_page"]["after"] = inboxes_after
        # One page of held-back mail, not all of it: the total is status["totals"]["suspended"].
        held = suspended_page(session, limit=HELD_BACK_SHOWN)["items"]
        tickets = recent_ticket_rows(session, RECENT_TICKETS)
        charts = chart_data.collect(session, now, request.app.state.usage, status["suspended_by_kind"])
    page = render_dashboard(status, held, tickets, now, can_sync=daemon is not None,
                            api_endpoint=runtime.settings.gmail_api_endpoint, charts=charts, refresh=refresh == "on")
    return HTMLResponse(page, headers=SECURITY_HEADERS)


def unauthorised() -> HTMLResponse:
    return HTMLResponse(LOGIN_HELP, status_code=401, headers={**SECURITY_HEADERS, "WWW-Authenticate": "Bearer"})
