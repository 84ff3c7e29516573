"""Workspace service-account keys: reading a key file safely, and impersonating one mailbox with it."""
from __future__ import annotations

from pathlib import Path

from google.oauth2 import service_account

from oauth.credentials import CredentialsError, load_service_account
from oauth.files import read_json_file
from oauth.scopes import SERVICE_ACCOUNT_SCOPES

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
# Google offers domain-wide delegation only to Workspace domains, never to consumer Gmail.
CONSUMER_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


class ServiceAccountKeyError(ValueError):
    """The key file cannot be used; the message never quotes the key."""


def read_key_file(path: str | Path) -> dict:
    """A service-account JSON key as Google's console downloads it, checked before it is sealed."""
    info = read_json_file(path, ServiceAccountKeyError)
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ServiceAccountKeyError(f"{path} is not a service-account key (its type must be service_account); "
                                     "create a JSON key under IAM & Admin > Service accounts > Keys")
    missing = [k for k in ("private_key", "client_email", "client_id") if not info.get(k)]
    if missing:
        raise ServiceAccountKeyError(f"{path} lacks {', '.join(missing)}; download a new JSON key")
    try:
        load_service_account(info, subject="check@invalid.example")
    except CredentialsError as exc:
        raise ServiceAccountKeyError(f"{path}: {exc}") from None
    return info


def check_domain(domain: str) -> str:
    domain = domain.strip().lower().lstrip("@")
    if not domain or "@" in domain or "." not in domain:
        raise ServiceAccountKeyError(f"{domain!r} is not a mail domain (expected e.g. masociete.com)")
    if domain in CONSUMER_DOMAINS:
        raise ServiceAccountKeyError(f"{domain} is a consumer Gmail domain: domain-wide delegation exists only "
                                     "for Google Workspace domains; connect it with `gmail-connector auth add`")
    return domain


def impersonate(info: dict, address: str, token_uri: str | None = None,
                scopes: tuple[str, ...] = SERVICE_ACCOUNT_SCOPES) -> service_account.Credentials:
    """Credentials acting as `address` through domain-wide delegation.

    Unlike user credentials, google-auth posts a service account's signed assertion to the
    token_uri written in the key file; it is pinned here so an edited file cannot send it elsewhere.
    `scopes`: a forwarded address asks only for the settings scopes (oauth/scopes.py, FORWARDING_SCOPES).
    """
    credentials = load_service_account(info, subject=address.strip().lower(), scopes=scopes)
    return credentials.with_token_uri(token_uri or GOOGLE_TOKEN_URI)
