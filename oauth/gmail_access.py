"""A stored grant to a Gmail client: vault → google-auth credentials → the Gmail port, and what a token failure means.

The one owner of that path (as Home Assistant's google_mail/api.py): a connected inbox's sealed
grant or its domain's service-account key is opened, turned into credentials once and reused
while the grant is unchanged, and handed to the adapter with the rule that tells a dead grant
("consent again": AuthRevoked) from a token endpoint that failed ("retry later": TransientError).
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable

from google.oauth2 import service_account
from sqlalchemy.engine import Engine

from connector.gmail.port import AuthRevoked, GmailError, GmailGateway, TransientError
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.service_accounts import domain_of, service_account_key, stored_credential
from oauth.credentials import CredentialsError, describe_refresh_error, load_authorized_user
from oauth.delegation import delegation_failure
from oauth.scopes import scopes_for_mode
from oauth.service_account import impersonate
from oauth.vault import open_vault

# (credentials, address or None, token_failure) -> the Gmail port; the composition root supplies it.
BuildGateway = Callable[[Any, "str | None", Callable[[Exception], GmailError]], GmailGateway]


def token_failure(exc: Exception) -> GmailError:
    """A failed token refresh as the port's error: a dead grant needs consent, anything else a retry."""
    kind, text = describe_refresh_error(exc)
    return AuthRevoked(text) if kind == "reauth" else TransientError(text)


class GmailAccess:
    """Opens the Gmail port for connected inboxes from their stored grants."""

    def __init__(self, engine: Engine, settings: Any, build: BuildGateway):
        self._engine, self._settings, self._build = engine, settings, build
        # Credentials per inbox, reused while the stored grant is unchanged: google-auth then
        # refreshes the access token once an hour instead of at every pass.
        self._credentials: dict[str, tuple[str, Any]] = {}

    @property
    def token_uri(self) -> str | None:
        """Refreshes go to the sandbox when the API does; otherwise google-auth's own default."""
        endpoint = self._settings.gmail_api_endpoint
        return f"{endpoint}/token" if endpoint else None

    def open_gateway(self, address: str) -> GmailGateway:
        """A fresh adapter per pass (httplib2 connections are not shared between threads); the caller closes it."""
        return self.gateway_for(self.credentials_for(address), address)

    def gateway_for(self, credentials: Any, address: str | None = None) -> GmailGateway:
        """The Gmail port for any google-auth credentials (also ones not stored yet, during consent)."""
        rule = token_failure
        if isinstance(credentials, service_account.Credentials):
            rule = delegation_failure(credentials, token_failure)
        return self._build(credentials, address, rule)

    def credentials_for(self, address: str) -> Any:
        """google-auth credentials for a connected inbox: its own sealed grant, or its domain's key."""
        with session_scope(self._engine) as session:
            inbox = get_inbox(session, address)
            if inbox is None:
                raise LookupError(f"no connected inbox {address}")
            address, mode = inbox.address, inbox.mode
            stored = stored_credential(session, inbox)
            domain_key = None
            if stored is None and inbox.credential_kind == "service_account":
                domain_key = service_account_key(session, domain_of(address))
            kind = stored.kind if stored is not None else inbox.credential_kind
            ciphertext = stored.secret_ciphertext if stored is not None else (
                domain_key.secret_ciphertext if domain_key is not None else None)
        if ciphertext is None:
            raise AuthRevoked(_no_grant_text(address, kind))
        # The mode is in the fingerprint: switching it must mint tokens for the other scopes.
        fingerprint = f"{kind}:{mode}:{hashlib.sha256(bytes(ciphertext)).hexdigest()}"
        cached = self._credentials.get(address)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        credentials = self._open(address, kind, mode, ciphertext)
        self._credentials[address] = (fingerprint, credentials)
        return credentials

    def _open(self, address: str, kind: str, mode: str, ciphertext: bytes) -> Any:
        # A grant is stored, so a missing key file is an error; a fresh key could never open it.
        settings = self._settings
        info = open_vault(settings.token_encryption_key, settings.data_dir, create=False).open(ciphertext)
        try:
            if kind == "service_account":
                return impersonate(info, address, self.token_uri, scopes_for_mode(mode))
            return load_authorized_user(info, token_uri_override=self.token_uri)
        except CredentialsError as exc:
            raise AuthRevoked(f"stored credentials for {address} are unusable: {exc}") from exc


def _no_grant_text(address: str, kind: str) -> str:
    if kind == "service_account":
        domain = domain_of(address)
        return (f"no service-account key stored for {domain}: run "
                f"`gmail-connector auth add-service-account KEY.json --domain {domain}`")
    return (f"no stored credentials for {address}: run "
            f"`gmail-connector auth add {address} --client-secrets client_secret.json`")
