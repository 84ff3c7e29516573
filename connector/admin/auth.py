"""Who may use the admin API: a bearer token or its dashboard cookie, from a known Host, never cross-site."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE_NAME = "connector_admin"
_COOKIE_CONTEXT = b"gmail-connector admin dashboard cookie v1"


class AdminBindError(ValueError):
    """The admin API would be reachable from other machines without a token."""


def check_bind_allowed(host: str, token: str) -> None:
    """Refuse a non-loopback bind without ADMIN_TOKEN: only loopback justifies an open admin API."""
    if token or _is_loopback(host):
        return
    raise AdminBindError(
        f"ADMIN_BIND is {host}, which other machines can reach, and ADMIN_TOKEN is empty; "
        "set ADMIN_TOKEN (e.g. `openssl rand -hex 32`) or bind to 127.0.0.1")


def _is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def cookie_value(token: str) -> str:
    # The cookie holds a value derived from the token, so a leaked cookie jar does not reveal the
    # token itself (which also works as a bearer token for scripts).
    return hmac.new(token.encode(), _COOKIE_CONTEXT, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class AdminAuth:
    """Checks a request against ADMIN_TOKEN; an empty token allows all (the bind is loopback, and
    RequestGuard keeps other sites' pages out)."""

    def __init__(self, token: str):
        self._token = token

    def allows(self, request: Request) -> bool:
        if not self._token:
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip() and _same(value.strip(), self._token):
            return True
        cookie = request.cookies.get(COOKIE_NAME, "")
        return bool(cookie) and _same(cookie, cookie_value(self._token))

    def token_matches(self, given: str) -> bool:
        return bool(self._token) and _same(given, self._token)

    def require(self, request: Request) -> None:
        if not self.allows(request):
            raise HTTPException(401, "missing or wrong admin token", headers={"WWW-Authenticate": "Bearer"})

    def set_cookie(self, response: Response) -> None:
        response.set_cookie(COOKIE_NAME, cookie_value(self._token), httponly=True, samesite="strict", path="/")


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def host_name(authority: str) -> str:
    """`Host` header form without the port: `example.com`, `127.0.0.1`, `[::1]`."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority.partition("]")[0] + "]"
    if authority.count(":") > 1:            # a bare IPv6 address, as written in settings
        return f"[{authority}]"
    return authority.partition(":")[0]


def allowed_hosts(bind_host: str, token: str, extra: str | tuple[str, ...] = "") -> frozenset[str] | None:
    """The Host names the admin API answers to; None means any.

    A page on another site can point its own DNS name at 127.0.0.1 (DNS rebinding) and then read
    the admin API as same-origin; only the Host header still shows the foreign name. An open bind
    with a token is the exception: the browser never sends our cookie to the foreign name, so
    without the token the page gets nothing, and reverse proxies may use any name.
    """
    names = [n for n in (extra.split(",") if isinstance(extra, str) else extra) if n.strip()]
    if not names and token and not _is_loopback(bind_host):
        return None
    return LOOPBACK_NAMES | {host_name(bind_host)} | {host_name(n) for n in names}


def refusal(method: str, headers: Headers, hosts: frozenset[str] | None) -> tuple[int, str] | None:
    """Why this request must not reach the app (status, reason), or None to let it through."""
    host = headers.get("host", "")
    if hosts is not None and host_name(host) not in hosts:
        return 400, "this Host name is not one the admin API answers to; add it to ADMIN_ALLOWED_HOSTS if it is yours"
    if method.upper() in SAFE_METHODS:
        return None
    # Another site's page (another port on localhost included: it is "same-site", and the
    # SameSite=Strict cookie rides along) must not post. Clients that send no Origin (curl,
    # scripts) are not browsers and carry no cookie they did not choose to.
    origin, site = headers.get("origin"), headers.get("sec-fetch-site", "").lower()
    if site == "same-origin":
        # Pages cannot forge Sec-Fetch-Site; and under the dashboard's Referrer-Policy: no-referrer
        # Chromium sends its own forms with "Origin: null", so Origin alone would refuse them.
        return None
    if site in ("cross-site", "same-site") or (origin is not None and not _same_authority(origin, host)):
        return 403, "cross-site request refused: the admin API only takes changes from its own pages"
    return None


def _same_authority(origin: str, host: str) -> bool:
    # The scheme is not compared: behind a TLS proxy the browser says https while we see http.
    scheme, sep, authority = origin.strip().lower().partition("://")
    return bool(sep) and scheme in ("http", "https") and authority == host.strip().lower()


class RequestGuard:
    """ASGI middleware answering foreign Host names with 400 and cross-site writes with 403."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = refusal(scope["method"], Headers(scope=scope), self.hosts)
            if refused is not None:
                await JSONResponse({"detail": refused[1]}, status_code=refused[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)
