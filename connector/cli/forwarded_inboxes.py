"""Gmail addresses connected for forwarding only: their settings-only grant, and switching an inbox's mode."""
from __future__ import annotations

from typing import Any

from connector.bootstrap import Runtime
from connector.cli import CommandError
from connector.cli.grants import AccountMismatch, gateway_for, require_vault, save_grant
from connector.gmail.port import GmailError
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.service_accounts import domain_of, service_account_key
from oauth.credentials import CredentialsError, load_authorized_user
from oauth.flow import ConsentError
from oauth.scopes import FORWARDING_SCOPES
from oauth.service_account import impersonate
from oauth.vault import VaultError
from jobs.forwarding_mode import ModeError, switch_mode

SETTINGS_ONLY = "for its forwarding settings only (gmail.settings.basic, gmail.settings.sharing): it is never synced"


def domain_key(runtime: Runtime, address: str) -> bytes:
    """The sealed service-account key of the address's domain; refuses an address already connected."""
    domain = domain_of(address)
    with session_scope(runtime.engine) as session:
        if get_inbox(session, address) is not None:
            raise CommandError(f"{address} is already connected")
        key = service_account_key(session, domain)
        if key is None:
            raise CommandError(f"no service-account key for {domain}: first run "
                               f"`gmail-connector auth add-service-account KEY.json --domain {domain}`")
        return key.secret_ciphertext


def connect_for_forwarding(runtime: Runtime, address: str, group: str = "Support") -> str:
    """Workspace: impersonate the address with the two settings scopes alone, checked, then stored."""
    address = address.strip().lower()
    vault = require_vault(runtime)
    ciphertext = domain_key(runtime, address)
    try:
        credentials = impersonate(vault.open(ciphertext), address, runtime.token_uri, FORWARDING_SCOPES)
    except (VaultError, CredentialsError) as exc:
        raise CommandError(str(exc)) from None
    confirm_settings_account(runtime, credentials, address)
    save_grant(runtime, address, kind="service_account", secret=None, scopes=FORWARDING_SCOPES, account=address,
               group=group, create_only=True, mode="forwarding")
    return f"connected {address} through the service account of {domain_of(address)} {SETTINGS_ONLY}"


def connect_credentials_for_forwarding(runtime: Runtime, address: str, info: dict, group: str) -> str:
    """An authorized-user file (consent given for the settings scopes), stored for a forwarded address."""
    address = address.strip().lower()
    require_vault(runtime)
    try:
        credentials = load_authorized_user(info, token_uri_override=runtime.token_uri)
    except CredentialsError as exc:
        raise CommandError(str(exc)) from None
    confirm_settings_account(runtime, credentials, address)
    scopes = info.get("scopes") or FORWARDING_SCOPES
    scopes = scopes.split() if isinstance(scopes, str) else list(scopes)
    save_grant(runtime, address, kind="authorized_user", secret=info, scopes=scopes, account=address, group=group,
               create_only=True, mode="forwarding")
    extra = sorted(set(scopes) - set(FORWARDING_SCOPES))
    # Never used for reading or sending, but a person should know the stored grant could.
    note = f"; note: this grant also holds {', '.join(extra)}, which is never used" if extra else ""
    return f"connected {address} {SETTINGS_ONLY}{note}"


def consent_for_forwarding(runtime: Runtime, args, address: str, group: str) -> str:
    """Consumer Gmail: the browser consent of `auth add`, asking for the two settings scopes only."""
    from connector.cli.auth_cmd import _consent, _revoke_quietly   # one consent flow for both commands

    address = address.strip().lower()
    require_vault(runtime)          # before the consent: a wrong key must not cost the person a sign-in
    try:
        grant = _consent(args, address, FORWARDING_SCOPES)
    except ConsentError as exc:
        raise CommandError(str(exc)) from None
    try:
        confirm_settings_account(runtime, grant.credentials(runtime.token_uri), address)
    except CommandError:
        _revoke_quietly(runtime.settings, grant)       # a grant we refuse to store must not stay live
        raise
    save_grant(runtime, address, kind="authorized_user", secret={**grant.info, "account": address},
               scopes=grant.scopes, account=address, group=group, create_only=True, mode="forwarding")
    return f"connected {address} {SETTINGS_ONLY}"


def confirm_settings_account(runtime: Runtime, credentials: Any, address: str) -> None:
    """The grant must open `address` itself: its primary send-as address says so (getProfile needs a
    reading scope, which a settings-only grant does not hold)."""
    gateway = gateway_for(runtime, credentials)
    try:
        primary = [alias.email.lower() for alias in gateway.send_as() if alias.is_primary]
    except GmailError as exc:
        raise CommandError(f"could not check which mailbox this grant opens ({exc}); nothing was stored") from None
    finally:
        gateway.close()
    if primary != [address]:
        raise AccountMismatch(address, primary[0] if primary else "")


def set_mode(args, settings) -> int:
    """`inboxes set-mode ADDRESS direct|forwarding`."""
    from connector.bootstrap import bootstrap

    runtime = bootstrap(settings)
    try:
        report = switch_mode(runtime, args.address, args.mode)
    except ModeError as exc:
        raise CommandError(str(exc)) from None
    print(report)
    return 0
