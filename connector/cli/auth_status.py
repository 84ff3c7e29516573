"""`gmail-connector auth status`: per inbox, what its grant allows and the exact command when it needs fixing.

Read-only and local: it never calls Google. It does try the encryption key on each stored
secret, because a wrong key must read as "restore the key", never as "consent again".
"""
from __future__ import annotations

import json

from connector.bootstrap import bootstrap
from connector.cli import NO_INBOXES
from connector.store.consent_models import ServiceAccountKey
from connector.store.db import session_scope
from connector.store.inboxes import list_inboxes
from connector.store.models import Inbox
from connector.store.service_accounts import domain_of, grant_of, service_account_keys, stored_credential
from oauth.scopes import FEATURES, FORWARDING_SCOPES, READ_ONLY, features, missing_features, scopes_for_mode
from oauth.vault import Vault, VaultError, open_vault

_KEY_FIX = "restore the original TOKEN_ENCRYPTION_KEY (or the key file in DATA_DIR); consenting again is not needed"


def print_status(args, settings) -> int:
    runtime = bootstrap(settings)
    vault, key_problem = _vault(settings)
    with session_scope(runtime.engine) as session:
        keys = {k.domain: k for k in service_account_keys(session)}
        rows = [_row(session, inbox, keys, vault) for inbox in list_inboxes(session)]
        accounts = [{"domain": k.domain, "client_email": k.client_email, "client_id": k.client_id,
                     "key_id": k.key_id, "readable": _opens(vault, k.secret_ciphertext)} for k in keys.values()]
    if vault is None and not accounts and all(r["credential"] == "missing" for r in rows):
        key_problem = "none yet (created when the first grant is stored)"
    if args.json:
        print(json.dumps({"encryption_key": key_problem or "ok", "inboxes": rows, "service_accounts": accounts},
                         indent=2))
        return 0
    print(f"encryption key: {key_problem or 'ok'}")
    if not rows:
        print(NO_INBOXES)
    for r in rows:
        missing = f"  missing: {', '.join(r['features_missing'])}" if r["features_missing"] else ""
        only = "  settings only (forwarded, never read)" if r["mode"] == "forwarding" else ""
        print(f"{r['address']:<40} {r['kind']:<16} {r['state']:<13} credential={r['credential']}{missing}{only}")
        if r["fix"]:
            print(f"    fix: {r['fix']}")
    for a in accounts:
        print(f"service account for {a['domain']}: {a['client_email']} (client ID {a['client_id']})"
              + ("" if a["readable"] else f"  UNREADABLE: {_KEY_FIX}"))
    return 0


def _vault(settings) -> tuple[Vault | None, str]:
    # Never create a key file here: a status check must not hide a lost key behind a fresh one.
    try:
        return open_vault(settings.token_encryption_key, settings.data_dir, create=False), ""
    except VaultError as exc:
        return None, str(exc)


def _opens(vault: Vault | None, ciphertext: bytes) -> bool:
    if vault is None:
        return False
    try:
        vault.open(ciphertext)
    except VaultError:
        return False
    return True


def _row(session, inbox: Inbox, keys: dict[str, ServiceAccountKey], vault: Vault | None) -> dict:
    stored = stored_credential(session, inbox)
    grant = grant_of(session, inbox)
    kind = stored.kind if stored is not None else inbox.credential_kind
    forwarded = inbox.mode == "forwarding"
    scopes = grant.scopes.split() if grant is not None else (
        list(scopes_for_mode(inbox.mode)) if kind == "service_account" else [])
    domain_key = keys.get(domain_of(inbox.address)) if kind == "service_account" and stored is None else None
    ciphertext = stored.secret_ciphertext if stored is not None else (
        domain_key.secret_ciphertext if domain_key is not None else None)
    if ciphertext is None:
        credential = "missing"
    else:
        credential = ("stored" if stored is not None else "domain key") if _opens(vault, ciphertext) else "unreadable"
    needs_reauth = credential == "missing" or inbox.state == "needs_reauth"
    # A forwarded address is connected for its settings alone: reading and sending are left out
    # on purpose, so they are not "missing".
    needed = set(features(FORWARDING_SCOPES)) if forwarded else set(FEATURES)
    missing = [f for f in missing_features(scopes) if f in needed] if scopes else []
    return {"address": inbox.address, "kind": kind, "mode": inbox.mode, "state": inbox.state, "scopes": scopes,
            "features": features(scopes), "features_missing": missing,
            "credential": credential, "needs_reauth": needs_reauth,
            "fix": _fix(inbox, kind, credential, needs_reauth, scopes, domain_key)}


def _fix(inbox: Inbox, kind: str, credential: str, needs_reauth: bool, scopes: list[str],
         domain_key: ServiceAccountKey | None) -> str | None:
    if credential == "unreadable":
        return _KEY_FIX
    if not needs_reauth:
        return None
    if kind != "service_account":
        read_only = " --read-only" if tuple(scopes) == READ_ONLY else ""
        return f"gmail-connector auth add {inbox.address} --client-secrets client_secret.json{read_only}"
    domain = domain_of(inbox.address)
    if credential == "missing":
        return f"gmail-connector auth add-service-account KEY.json --domain {domain}"
    client = f"client ID {domain_key.client_id}" if domain_key is not None else "the service account's client ID"
    return (f"in the Google Admin console authorise {client} for domain-wide delegation with "
            f"{','.join(scopes_for_mode(inbox.mode))}, then: gmail-connector inboxes resume {inbox.address}")
