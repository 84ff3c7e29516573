"""Who may use the admin API: a bearer token, a dashboard cookie derived from it, or loopback only."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress

from fastapi import HTTPException, Request
from starlette.responses import Response

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
    """Checks a request against ADMIN_TOKEN; an empty token allows all (the bind is loopback)."""

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
