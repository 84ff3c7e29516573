"""The one-time consent: Google's installed-app flow, from a client_secret.json to a stored-ready grant.

google-auth-oauthlib builds the authorization URL (offline access, PKCE) and exchanges the code;
this module adds what a helpdesk operator needs around it: consent always prompted so Google
returns a refresh token, a partial grant accepted and reported instead of failing, and errors
that say what to do without quoting a token.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import parse_qs, urlsplit

import requests
from google.oauth2 import credentials as user_credentials
from google_auth_oauthlib.flow import InstalledAppFlow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from oauth.credentials import load_authorized_user
from oauth.files import read_json_file

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class ConsentError(Exception):
    """The consent did not give a usable grant; the message says what to do and names no secret."""


@dataclass(frozen=True)
class Grant:
    """What a finished consent gives: the authorized-user dict to seal, and the scopes really granted."""
    info: dict = field(repr=False)
    scopes: tuple[str, ...]
    access_token: str = field(default="", repr=False)

    def credentials(self, token_uri_override: str | None = None) -> user_credentials.Credentials:
        """Credentials for checking the account at once, reusing the access token just issued."""
        credentials = load_authorized_user(self.info, token_uri_override=token_uri_override)
        credentials.token = self.access_token or None
        return credentials


def read_client_secrets(path: str | Path) -> dict:
    """The OAuth client from a client_secret.json downloaded from the Google Cloud console."""
    config = read_json_file(path, ConsentError)
    client = config.get("installed") if isinstance(config, dict) else None
    if not isinstance(client, dict):
        raise ConsentError(f"{path} is not a Desktop app OAuth client: in the Google Cloud console create an "
                           "OAuth client ID of type \"Desktop app\" and download its JSON")
    missing = [k for k in ("client_id", "client_secret", "auth_uri", "token_uri") if not client.get(k)]
    if missing:
        raise ConsentError(f"{path} lacks {', '.join(missing)}; download the client's JSON again")
    return config


class ConsentFlow:
    """One sign-in: the URL to open, then `complete(redirect_url)` once Google redirects back."""

    def __init__(self, client_config: dict, scopes: Iterable[str], redirect_uri: str, login_hint: str = ""):
        self.requested = tuple(scopes)
        self._client = client_config["installed"]
        self._flow = InstalledAppFlow.from_client_config(client_config, scopes=list(self.requested),
                                                         redirect_uri=redirect_uri)
        # prompt=consent: without it Google returns a refresh token only the first time an account consents.
        extra = {"login_hint": login_hint} if login_hint else {}
        with _oauthlib_leniency(self._client["auth_uri"]):
            self.url, self.state = self._flow.authorization_url(access_type="offline", prompt="consent", **extra)

    def complete(self, redirect_url: str) -> Grant:
        """Check the redirect (refusal, state), exchange its code, and return the grant."""
        params = _redirect_params(redirect_url)
        if params.get("error"):
            raise ConsentError(_refusal_text(params["error"]))
        if params.get("state") != self.state:
            raise ConsentError("that redirect URL belongs to another sign-in (its state differs): "
                               "use the URL this command printed, then paste the address it redirects to")
        if not params.get("code"):
            raise ConsentError("the redirect URL has no authorization code: copy the whole address from the browser")
        token = self._exchange(params["code"])
        refresh = token.get("refresh_token")
        if not refresh:
            raise ConsentError("Google returned no refresh token: remove the app's access at "
                               "https://myaccount.google.com/permissions and run the command again")
        granted = _granted_scopes(token.get("scope"), self.requested)
        info = {"type": "authorized_user", "client_id": self._client["client_id"],
                "client_secret": self._client["client_secret"], "refresh_token": refresh,
                "token_uri": self._client["token_uri"], "scopes": list(granted)}
        return Grant(info=info, scopes=granted, access_token=str(token.get("access_token") or ""))

    def _exchange(self, code: str) -> dict:
        with _oauthlib_leniency(self._client["token_uri"]), _token_logs_silenced():
            try:
                return dict(self._flow.fetch_token(code=code))
            except OAuth2Error as exc:
                # Google's error codes and descriptions name no secret; the request that failed would.
                said = f"{exc.error}: {exc.description}" if exc.description else exc.error
                raise ConsentError(f"Google refused the authorization code ({said[:200]}): "
                                   "run the command again (a code works once and for ten minutes)") from None
            except requests.RequestException as exc:
                raise ConsentError(f"could not reach Google's token endpoint ({type(exc).__name__}); "
                                   "check the network and run the command again") from None


def _redirect_params(redirect_url: str) -> dict[str, str]:
    query = urlsplit(redirect_url.strip()).query
    return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}


def _refusal_text(error: str) -> str:
    if error == "access_denied":
        return ("the consent was cancelled on Google's page (access_denied): run the command again, "
                "choose the inbox's account and press Allow")
    return f"Google refused the sign-in ({error[:80]}): check the OAuth client and run the command again"


def _granted_scopes(answered, requested: tuple[str, ...]) -> tuple[str, ...]:
    # Google names the scopes actually granted; an answer without them means all that were asked.
    if not answered:
        return requested
    names = answered.split() if isinstance(answered, str) else list(answered)
    return tuple(sorted(set(names)))


@contextmanager
def _oauthlib_leniency(uri: str) -> Iterator[None]:
    """Switch off two oauthlib refusals for the duration of one call to `uri`.

    oauthlib raises when Google grants fewer scopes than asked (we report the missing features
    instead) and refuses plain http even to the sandbox on loopback; only environment switches
    turn these off, so they are set around the call and restored after it. Plain http anywhere
    but loopback stays refused.
    """
    wanted = {"OAUTHLIB_RELAX_TOKEN_SCOPE": "1"}
    target = urlsplit(uri)
    if target.scheme == "http" and target.hostname in _LOOPBACK_HOSTS:
        wanted["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _token_logs_silenced() -> Iterator[None]:
    """requests-oauthlib logs the token response, refresh token included, at DEBUG: not here."""
    logger = logging.getLogger("requests_oauthlib")
    saved = logger.level
    logger.setLevel(max(logging.INFO, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(saved)
