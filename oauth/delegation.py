"""A service account refused its token (unauthorized_client): find the scopes the Workspace admin did not list.

Google says only "client not authorized for any of the scopes requested", whichever scope is
missing from Admin console > Security > API controls > Domain-wide delegation. Asking for a
token per scope tells them apart, so the inbox (or the forwarding setup) can name the scope to add.
"""
from __future__ import annotations

from typing import Any, Callable

from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request

from connector.gmail.port import AuthRevoked, GmailError
from oauth.credentials import refresh_error_code

WHERE = ("Admin console > Security > Access and data control > API controls > Manage Domain Wide Delegation "
         "(docs/google-setup.md, step 4)")


def missing_scopes(credentials: Any, request_factory: Callable[[], Any] = Request) -> list[str] | None:
    """The requested scopes Google refuses one by one; None when the probe cannot tell."""
    missing = []
    for scope in credentials.scopes or ():
        try:
            credentials.with_scopes([scope]).refresh(request_factory())
        except auth_exceptions.RefreshError as exc:
            if refresh_error_code(exc) != "unauthorized_client":
                return None
            missing.append(scope)
        except auth_exceptions.TransportError:
            return None
    return missing


def delegation_failure(credentials: Any, base: Callable[[Exception], GmailError],
                       probe: Callable[[Any], list[str] | None] = missing_scopes) -> Callable[[Exception], GmailError]:
    """`base` (the usual token-failure rule), naming the missing delegated scopes when that is the cause."""
    def judge(exc: Exception) -> GmailError:
        error = base(exc)
        if not (isinstance(exc, auth_exceptions.RefreshError) and refresh_error_code(exc) == "unauthorized_client"):
            return error
        missing = probe(credentials)
        if not missing or len(missing) == len(credentials.scopes or ()):
            return error                # none, or all: not one forgotten scope (the client id itself, or a person)
        who = getattr(credentials, "service_account_email", "the service account")
        names = ", ".join(missing)
        return AuthRevoked(f"Google refused the token of {who} (unauthorized_client): the Workspace admin must add "
                           f"{names} to its Client ID's scopes in {WHERE}; the other scopes are listed")
    return judge
