"""Verifying a service account's RS256 JWT assertion the way Google's token endpoint does."""
from __future__ import annotations

import json
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.mime import unb64url


class GrantError(Exception):
    """An OAuth error answered as {"error", "error_description"} with an HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def verify_assertion(assertion: str, public_key: rsa.RSAPublicKey, issuer: str, audience: str,
                     now: float | None = None) -> dict:
    """The JWT's claims, once its signature, issuer, audience and lifetime check out."""
    now = time.time() if now is None else now
    try:
        head_b64, claims_b64, sig_b64 = assertion.split(".")
        header = json.loads(unb64url(head_b64))
        claims = json.loads(unb64url(claims_b64))
        signature = unb64url(sig_b64)
    except (ValueError, TypeError):
        raise GrantError("invalid_grant", "Invalid JWT: malformed assertion.") from None
    if header.get("alg") != "RS256":
        raise GrantError("invalid_grant", "Invalid JWT Signature.")
    try:
        public_key.verify(signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise GrantError("invalid_grant", "Invalid JWT Signature.") from None
    if claims.get("iss") != issuer:
        raise GrantError("invalid_grant", "Invalid JWT: No valid verifier found for issuer.")
    # google-auth always addresses the assertion to Google's token URI, whatever token_uri it posts to.
    if claims.get("aud") not in (audience, GOOGLE_TOKEN_URI):
        raise GrantError("invalid_grant", "Invalid JWT: Failed audience check. The expected audience is the "
                         "token endpoint URL.")
    iat, exp = claims.get("iat", 0), claims.get("exp", 0)
    if not (iat - 300 <= now < exp) or exp - iat > 3600:
        raise GrantError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                         "reasonable timeframe. Check your iat and exp values in the JWT claim.")
    if not str(claims.get("scope", "")).strip():
        raise GrantError("invalid_scope", "Empty or missing scope not allowed.")
    return claims
