"""Stored Google credentials in, google-auth credentials out; and what a failed refresh means.

Two kinds of grant: an authorized-user file (a person consented; holds a refresh token) and a
service-account key impersonating a mailbox through domain-wide delegation. A refresh that fails
either needs a person to consent again ("reauth") or will work later ("retry").
"""
from __future__ import annotations

from typing import Iterable

from google.auth import exceptions as auth_exceptions
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from oauth.scopes import USER_SCOPES


class CredentialsError(ValueError):
    """The stored grant is unusable as written (missing field, wrong type); names no secret."""


_USER_FIELDS = ("client_id", "client_secret", "refresh_token")


def load_authorized_user(info: dict, token_uri_override: str | None = None) -> user_credentials.Credentials:
    """Credentials from an authorized-user dict (the JSON google-auth writes after consent).

    The refresh goes to Google's token endpoint unless `token_uri_override` says otherwise.
    """
    missing = [name for name in _USER_FIELDS if not info.get(name)]
    if missing:
        raise CredentialsError(f"authorized-user credentials lack {', '.join(missing)}")
    credentials = user_credentials.Credentials.from_authorized_user_info(info, scopes=info.get("scopes") or None)
    # google-auth ignores the file's token_uri and always uses Google's, so a tampered file cannot
    # send the refresh token elsewhere. Pointing at the sandbox must therefore be explicit.
    return credentials.with_token_uri(token_uri_override) if token_uri_override else credentials


def load_service_account(info: dict, subject: str,
                         scopes: Iterable[str] = USER_SCOPES) -> service_account.Credentials:
    """Service-account credentials acting as `subject` (the impersonated mailbox)."""
    if info.get("type") not in (None, "service_account"):
        raise CredentialsError(f"expected a service_account key, got type {info.get('type')!r}")
    if not subject:
        raise CredentialsError("a service account needs the mailbox to impersonate (subject)")
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=list(scopes), subject=subject)
    except (ValueError, KeyError) as exc:
        # The library's message can quote key material; say only what kind of problem it is.
        raise CredentialsError(f"service-account key is unusable ({type(exc).__name__})") from None


_REAUTH_TEXT = {
    "invalid_grant": ("Google refused the stored grant (invalid_grant): it was revoked, the password "
                      "changed, the app is in testing mode and its 7-day tokens expired, or it went "
                      "unused for 6 months. Consent must be given again."),
    "invalid_client": ("Google refused the OAuth client (invalid_client): check the client id and "
                       "secret, then consent again."),
    "unauthorized_client": ("Google refused the client (unauthorized_client): for a service account, "
                            "authorise its client id and these scopes for domain-wide delegation in "
                            "the Workspace admin console; for a person, the refresh token was issued to "
                            "another OAuth client: consent again with this client's secrets."),
    "invalid_scope": "Google refused the requested scopes (invalid_scope): consent again with the right scopes.",
}


def refresh_error_code(exc: auth_exceptions.RefreshError) -> str:
    """The token endpoint's error code (invalid_grant, unauthorized_client, ...), or ""."""
    return _error_code(exc)


def _error_code(exc: auth_exceptions.RefreshError) -> str:
    # google-auth passes the token endpoint's JSON as the second argument when it has one.
    for arg in exc.args[1:]:
        if isinstance(arg, dict) and arg.get("error"):
            return str(arg["error"])
    first = str(exc.args[0]) if exc.args else ""
    for code in _REAUTH_TEXT:
        if first.startswith(code) or f"'{code}'" in first or f'"{code}"' in first:
            return code
    return ""


def describe_refresh_error(exc: Exception) -> tuple[str, str]:
    """("reauth" | "retry", a sentence for a person). The sentence never quotes a token."""
    if isinstance(exc, auth_exceptions.RefreshError):
        code = _error_code(exc)
        if code in _REAUTH_TEXT:
            return "reauth", _REAUTH_TEXT[code]
        if getattr(exc, "retryable", False):
            return "retry", ("Google's token endpoint failed (server error or overload); "
                             "the refresh will be tried again later.")
        return "reauth", (f"Google refused to refresh the grant ({code or 'no error code'}); "
                          "consent must be given again.")
    if isinstance(exc, auth_exceptions.TransportError):
        return "retry", (f"Could not reach Google's token endpoint ({_transport_cause(exc)}); "
                         "the refresh will be tried again later.")
    return "retry", f"Token refresh failed unexpectedly ({type(exc).__name__}); it will be tried again later."


def _transport_cause(exc: Exception) -> str:
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause is not None else "network error"
