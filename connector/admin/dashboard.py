"""The dashboard route: one HTML page for people, with a one-time ?token= that becomes a cookie."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connector.admin.deps import read_session
from connector.admin.render import RECENT_TICKETS, render_dashboard
from connector.admin.sections import recent_tickets
from connector.admin.status import build_status
from connector.store.suspended import suspended_rows
from connector.store.types import utcnow

router = APIRouter()
# Stored mail is hostile input: even if escaping ever failed, the page could run no script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
}
LOGIN_HELP = ("<!doctype html><meta charset='utf-8'><title>gmail-connector: sign in</title>"
              "<p>This dashboard needs the admin token. Open <code>/?token=YOUR_ADMIN_TOKEN</code> once; "
              "the browser then keeps a cookie. (ADMIN_TOKEN is in the daemon's settings.)</p>")


@router.get("/", response_class=HTMLResponse, summary="the HTML dashboard",
            responses={303: {"description": "token accepted; cookie set"}, 401: {"description": "no valid token"}})
def dashboard(request: Request, token: str | None = None) -> Response:
    auth = request.app.state.auth
    if token is not None:
        if not auth.token_matches(token):
            return _unauthorised()
        # Redirect so the token leaves the address bar and the 30 s refresh does not repeat it.
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        auth.set_cookie(response)
        return response
    if not auth.allows(request):
        return _unauthorised()
    runtime, daemon = request.app.state.runtime, request.app.state.daemon
    now = utcnow()
    with read_session(runtime) as session:
        status = build_status(session, now, daemon, request.app.state.usage, runtime.settings)
        held, tickets = suspended_rows(session), recent_tickets(session, RECENT_TICKETS)
    page = render_dashboard(status, held, tickets, now, can_sync=daemon is not None,
                            api_endpoint=runtime.settings.gmail_api_endpoint)
    return HTMLResponse(page, headers=SECURITY_HEADERS)


def _unauthorised() -> HTMLResponse:
    return HTMLResponse(LOGIN_HELP, status_code=401, headers={**SECURITY_HEADERS, "WWW-Authenticate": "Bearer"})
