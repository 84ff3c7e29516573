"""What `auth` and `inboxes` share: a vault that must open, the account check, storing a grant."""
from __future__ import annotations

from typing import Any, Iterable

from sqlmodel import select

from connector.bootstrap import Runtime
from connector.cli import CommandError
from connector.gmail.port import GmailError, GmailGateway, Profile
from connector.store.consent_models import ServiceAccountKey
from connector.store.db import session_scope
from connector.store.inboxes import add_inbox, get_inbox
from connector.store.models import Credential
from connector.store.service_accounts import domain_of, replace_grant
from oauth.vault import Vault, VaultError, open_vault

REAUTH_STATES = ("needs_reauth", "error")


class AccountMismatch(CommandError):
    """Google says the grant belongs to another mailbox than the one asked for."""

    def __init__(self, asked: str, actual: str):
        super().__init__(f"the account that consented is {actual or 'unknown'}, not {asked}")
        self.asked, self.actual = asked, actual


def require_vault(runtime: Runtime) -> Vault:
    """The vault, proven able to open what is already stored (a wrong key must stop us, not re-consent).

    With grants stored, a missing key file is an error rather than a fresh key: a new key would
    only hide the loss until every inbox failed.
    """
    settings = runtime.settings
    with session_scope(runtime.engine) as session:
        sample = (session.exec(select(Credential.secret_ciphertext)).first()
                  or session.exec(select(ServiceAccountKey.secret_ciphertext)).first())
    try:
        if sample is not None:
            open_vault(settings.token_encryption_key, settings.data_dir, create=False).open(sample)
        return runtime.vault
    except VaultError as exc:
        raise CommandError(str(exc)) from None


def gateway_for(runtime: Runtime, credentials: Any) -> GmailGateway:
    """The Gmail port for credentials not stored yet."""
    return runtime.gateway_for(credentials)


def confirm_account(runtime: Runtime, credentials: Any, address: str) -> Profile:
    """getProfile through the port: the grant must belong to `address` itself."""
    gateway = gateway_for(runtime, credentials)
    try:
        profile = gateway.profile()
    except GmailError as exc:
        raise CommandError(f"could not check which mailbox this grant opens ({exc}); nothing was stored") from None
    finally:
        close = getattr(gateway, "close", None)
        if close is not None:
            close()
    if profile.email.strip().lower() != address.strip().lower():
        raise AccountMismatch(address.strip().lower(), profile.email.strip().lower())
    return profile


def save_grant(runtime: Runtime, address: str, *, kind: str, secret: dict | None, scopes: Iterable[str],
               account: str = "", group: str = "Support", poll_interval: int | None = None,
               create_only: bool = False, mode: str = "direct") -> bool:
    """Connect the inbox or renew its grant, in one transaction; True when the inbox existed.

    `secret` None means the inbox borrows its domain's service-account key. A renewed inbox that
    needed consent becomes active again and keeps its history cursor, so the next sync imports
    what arrived meanwhile without importing anything twice. `mode` is that of a new inbox only
    ("forwarding": connected for its settings, never synced); renewing a grant never changes it.
    """
    ciphertext = runtime.vault.seal(secret) if secret is not None else None
    ref = f"domain:{domain_of(address)}" if secret is None else ""
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        existed = inbox is not None
        if inbox is None:
            inbox = add_inbox(session, address, group=group, mode=mode, credential_kind=kind, credential_ref=ref,
                              poll_interval_seconds=poll_interval)
        elif create_only:
            raise CommandError(f"{inbox.address} is already connected")
        replace_grant(session, inbox, kind, ciphertext, list(scopes), account)
        inbox.credential_ref = ref
        if existed and inbox.state in REAUTH_STATES:
            inbox.state, inbox.backoff_until, inbox.next_run_at, inbox.consecutive_failures = "active", None, None, 0
        session.add(inbox)
    return existed
