"""Revoking a refresh token at Google's revoke endpoint (or the sandbox's, when the API is aimed there)."""
from __future__ import annotations

import requests

GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"


class RevokeError(Exception):
    """Google could not be told; the grant may still be live. Names no token."""


def revoke_endpoint(gmail_api_endpoint: str = "") -> str:
    return f"{gmail_api_endpoint.rstrip('/')}/revoke" if gmail_api_endpoint else GOOGLE_REVOKE_URI


def revoke_token(token: str, endpoint: str = GOOGLE_REVOKE_URI, timeout: float = 15) -> bool:
    """True when the grant was revoked now, False when Google says it was already dead.

    The token goes in the form body, not the query string, so no proxy or access log records it.
    """
    try:
        answer = requests.post(endpoint, data={"token": token}, timeout=timeout,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    except requests.RequestException as exc:
        raise RevokeError(f"could not reach {endpoint} ({type(exc).__name__})") from None
    if answer.status_code == 200:
        return True
    if answer.status_code == 400 and _error(answer) == "invalid_token":
        return False
    raise RevokeError(f"{endpoint} answered HTTP {answer.status_code} {_error(answer)}".rstrip())


def _error(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("error", ""))[:80]
    except (ValueError, AttributeError):
        return ""
