"""Google's OAuth side: clients, codes with PKCE, refresh and access tokens, service-account delegation."""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.errors import unauthenticated
from sandbox.jwt_bearer import GrantError, verify_assertion

GMAIL = "https://www.googleapis.com/auth/gmail."
FULL_SCOPE = "https://mail.google.com/"
ACCESS_SECONDS = 3599
_REVOKED = "Token has been expired or revoked."


@dataclass
class AccessGrant:
    address: str | None          # None: a service account acting as itself
    scopes: frozenset[str]
    expires_at: float
    service_account: bool = False
    refresh_token: str | None = None


@dataclass
class RefreshGrant:
    address: str
    scopes: frozenset[str]
    client_id: str


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    address: str
    scopes: frozenset[str]
    challenge: str
    challenge_method: str
    offline: bool
    expires_at: float


# What a Workspace admin lists for the service account's client id under Admin console > Security >
# API controls > Manage Domain Wide Delegation (docs/google-setup.md, step 4). Google refuses a token
# with unauthorized_client when any requested scope is not listed ("Perform Google Workspace
# domain-wide delegation of authority", developers.google.com/identity/protocols/oauth2/service-account).
DEFAULT_DELEGATED_SCOPES = frozenset(f"https://www.googleapis.com/auth/{name}" for name in (
    "gmail.modify", "gmail.send", "gmail.settings.basic", "gmail.settings.sharing"))


class OAuthServer:
    def __init__(self, delegable, clock=time.time) -> None:
        """`delegable(address)` says whether domain-wide delegation may impersonate that address."""
        self.client_id = f"{secrets.randbelow(10**12):012d}-sandbox.apps.googleusercontent.com"
        self.client_secret = "GOCSPX-" + secrets.token_urlsafe(21)
        self.clients: dict[str, str] = {self.client_id: self.client_secret}   # more: add_client()
        self.service_account_email = "connector@gmail-sandbox.iam.gserviceaccount.com"
        self.service_account_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.token_uri = ""
        self._delegable = delegable
        self._clock = clock
        self.delegated_scopes = DEFAULT_DELEGATED_SCOPES   # POST /_sandbox/delegation changes it
        self.access: dict[str, AccessGrant] = {}
        self.refresh: dict[str, RefreshGrant] = {}
        self.codes: dict[str, PendingCode] = {}

    # ---- issuing -------------------------------------------------------------------------
    def issue_refresh_token(self, address: str, scopes, client_id: str | None = None) -> str:
        token = "1//sbx" + secrets.token_urlsafe(40)
        self.refresh[token] = RefreshGrant(address.lower(), frozenset(scopes), client_id or self.client_id)
        return token

    def _access(self, address, scopes, service_account=False, refresh_token=None) -> dict:
        token = "ya29.sbx" + secrets.token_urlsafe(48)
        self.access[token] = AccessGrant(address, frozenset(scopes), self._clock() + ACCESS_SECONDS,
                                         service_account, refresh_token)
        return {"access_token": token, "expires_in": ACCESS_SECONDS, "scope": " ".join(sorted(scopes)),
                "token_type": "Bearer"}

    def create_code(self, client_id, redirect_uri, address, scopes, challenge="", method="", offline=False) -> str:
        code = "4/0sbx" + secrets.token_urlsafe(40)
        self.codes[code] = PendingCode(client_id, redirect_uri, address.lower(), frozenset(scopes), challenge,
                                       method or ("plain" if challenge else ""), offline, self._clock() + 600)
        return code

    # ---- the token endpoint --------------------------------------------------------------
    def token(self, form: dict[str, str]) -> dict:
        grant_type = form.get("grant_type", "")
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        if grant_type == "authorization_code":
            return self._code_grant(form)
        if grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt_grant(form)
        raise GrantError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def add_client(self) -> tuple[str, str]:
        """A second OAuth client of the same project: its refresh tokens are no good to the first."""
        client_id = f"{secrets.randbelow(10**12):012d}-sandbox.apps.googleusercontent.com"
        self.clients[client_id] = "GOCSPX-" + secrets.token_urlsafe(21)
        return client_id, self.clients[client_id]

    def _check_client(self, form) -> str:
        # Google's three wordings: no client id at all, an unknown one, and a known one with the wrong
        # secret (recorded in GTMAppAuth#15 and google-auth-library-python#1561 answers).
        client_id = form.get("client_id") or ""
        if not client_id:
            raise GrantError("invalid_request", "Could not determine client ID from request.")
        if client_id not in self.clients:
            raise GrantError("invalid_client", "The OAuth client was not found.", 401)
        if not secrets.compare_digest(form.get("client_secret") or "", self.clients[client_id]):
            raise GrantError("invalid_client", "Unauthorized", 401)
        return client_id

    def _refresh_grant(self, form) -> dict:
        client_id = self._check_client(form)
        grant = self.refresh.get(form.get("refresh_token", ""))
        if grant is None:
            raise GrantError("invalid_grant", _REVOKED)
        if grant.client_id != client_id:
            # A refresh token is bound to the client it was issued to (prasmussen/gdrive#375: 401).
            raise GrantError("unauthorized_client", "Unauthorized", 401)
        scopes = set(form.get("scope", "").split()) or set(grant.scopes)
        if not scopes <= grant.scopes:
            raise GrantError("invalid_scope", "Bad Request")
        return self._access(grant.address, scopes, refresh_token=form.get("refresh_token"))

    def _code_grant(self, form) -> dict:
        client_id = self._check_client(form)
        pending = self.codes.pop(form.get("code", ""), None)
        if pending is None or pending.expires_at < self._clock() or pending.client_id != client_id:
            raise GrantError("invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != pending.redirect_uri:
            raise GrantError("redirect_uri_mismatch", "Bad Request")
        if pending.challenge and not _pkce_ok(pending, form.get("code_verifier", "")):
            raise GrantError("invalid_grant", "Invalid code verifier.")
        refresh = self.issue_refresh_token(pending.address, pending.scopes, client_id) if pending.offline else None
        answer = self._access(pending.address, pending.scopes, refresh_token=refresh)
        if refresh:
            answer["refresh_token"] = refresh
        return answer

    def _jwt_grant(self, form) -> dict:
        claims = verify_assertion(form.get("assertion", ""), self.service_account_key.public_key(),
                                  self.service_account_email, self.token_uri, self._clock())
        scopes = set(str(claims["scope"]).split())
        subject = str(claims.get("sub") or "").lower() or None
        if subject is not None:
            allowed = self._delegable(subject)
            if allowed is None:
                raise GrantError("invalid_grant", "Invalid email or User ID")
            if not allowed or not scopes <= self.delegated_scopes:
                raise GrantError("unauthorized_client", "Client is unauthorized to retrieve access tokens using "
                                 "this method, or client not authorized for any of the scopes requested.", 401)
        return self._access(subject, scopes, service_account=True)

    # ---- checking and revoking -----------------------------------------------------------
    def authenticate(self, authorization: str | None) -> AccessGrant:
        scheme, _, token = (authorization or "").partition(" ")
        grant = self.access.get(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None or grant.expires_at <= self._clock():
            raise unauthenticated()
        return grant

    def revoke(self, token: str) -> bool:
        if token in self.refresh:
            del self.refresh[token]
            self.access = {k: g for k, g in self.access.items() if g.refresh_token != token}
            return True
        return self.access.pop(token, None) is not None

    def revoke_mailbox(self, address: str) -> int:
        doomed = [t for t, g in self.refresh.items() if g.address == address.lower()]
        for token in doomed:
            self.revoke(token)
        return len(doomed)

    def expire_access(self, address: str | None = None) -> None:
        for grant in self.access.values():
            if address is None or grant.address == address.lower():
                grant.expires_at = self._clock() - 1


def _pkce_ok(pending: PendingCode, verifier: str) -> bool:
    if pending.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=") == pending.challenge
    return secrets.compare_digest(verifier, pending.challenge)
