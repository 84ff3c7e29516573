"""`gmail-connector inboxes ...`: connect, list, pause, resume and remove Gmail inboxes."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from connector.bootstrap import Runtime, bootstrap
from connector.cli import NO_INBOXES, CommandError
from connector.store.db import session_scope
from connector.cli.grants import confirm_account, require_vault, save_grant
from connector.cli.forwarded_inboxes import (connect_credentials_for_forwarding, connect_for_forwarding,
                                            consent_for_forwarding, domain_key, set_mode)
from connector.store.addresses import list_addresses
from connector.store.inboxes import INBOX_MODES, get_inbox, list_inboxes, remove_inbox, set_state
from connector.store.push import NOT_WATCHED, push_by_inbox
from connector.store.service_accounts import domain_of
from connector.store.types import iso_utc, utcnow
from oauth.credentials import CredentialsError
from oauth.scopes import SERVICE_ACCOUNT_SCOPES
from oauth.service_account import impersonate
from oauth.vault import VaultError
from jobs.push_watch import stop_watch


def register(sub) -> None:
    parser = sub.add_parser("inboxes", help="connect and manage Gmail inboxes",
                            description="Connect and manage the Gmail inboxes the daemon reads.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="connect an inbox with a Workspace service account or a credentials file",
                             description="Connect an inbox. The usual way is `gmail-connector auth add`; this "
                                         "command connects a Workspace mailbox through its domain's service "
                                         "account, or imports an existing authorized-user file.")
    add.add_argument("address", help="the Gmail or Workspace address, e.g. support@example.com")
    how = add.add_mutually_exclusive_group(required=True)
    how.add_argument("--service-account", action="store_true",
                     help="impersonate the mailbox with its domain's key (gmail-connector auth add-service-account)")
    how.add_argument("--credentials", metavar="FILE.json",
                     help="authorized-user JSON (client_id, client_secret, refresh_token); it is stored encrypted")
    how.add_argument("--client-secrets", metavar="FILE.json",
                     help="with --forwarding: consent in a browser for the settings scopes only (consumer Gmail)")
    add.add_argument("--group", default="Support", help="group the inbox's tickets go to (default: Support)")
    add.add_argument("--poll-interval", type=int, metavar="SECONDS",
                     help="poll this inbox every SECONDS instead of POLL_INTERVAL_SECONDS")
    add.add_argument("--forwarding", action="store_true",
                     help="an external address forwarded to the helpdesk: connect it for its forwarding settings "
                          "only (gmail.settings.basic, gmail.settings.sharing); it is never synced")
    add.add_argument("--no-browser", action="store_true", help="with --client-secrets: print the consent URL")
    add.add_argument("--port", type=int, default=0, help="with --client-secrets: loopback port for the redirect")
    add.set_defaults(func=_add)
    mode = actions.add_parser("set-mode", help="switch an inbox between direct reading and forwarding",
                              description="forwarding: once its forwarding is verified, one last pass reads what "
                                          "Gmail holds, then it is never synced again. direct: its history cursor "
                                          "is set to now (the grant must be able to read) and syncing resumes. "
                                          "Neither loses or duplicates a message (docs/forwarding.md).")
    mode.add_argument("address")
    mode.add_argument("mode", choices=INBOX_MODES)
    mode.set_defaults(func=set_mode)
    listing = actions.add_parser("list", help="list connected inboxes")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)
    for name, helptext, func in (("pause", "stop syncing an inbox (keeps its cursor)", _pause),
                                 ("resume", "sync a paused inbox again", _resume),
                                 ("remove", "disconnect an inbox and delete its credentials (tickets stay)", _remove)):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("address")
        action.set_defaults(func=func)


def _read_credentials(path: str) -> dict:
    try:
        info = json.loads(Path(path).read_text())
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise CommandError(f"{path} is not JSON") from None
    if not isinstance(info, dict) or not all(info.get(k) for k in ("client_id", "client_secret", "refresh_token")):
        raise CommandError(f"{path} is not an authorized-user file (needs client_id, client_secret, refresh_token)")
    return info


def connect_inbox(runtime: Runtime, address: str, kind: str, secret: dict, group: str = "Support",
                  poll_interval: int | None = None) -> None:
    """Store a new inbox and its sealed grant in one transaction (the grant's scopes as the file names them)."""
    scopes = secret.get("scopes") or (SERVICE_ACCOUNT_SCOPES if kind == "service_account" else ())
    scopes = scopes.split() if isinstance(scopes, str) else scopes
    save_grant(runtime, address, kind=kind, secret=secret, scopes=scopes, account=str(secret.get("account", "")),
               group=group, poll_interval=poll_interval, create_only=True)


def _add(args, settings) -> int:
    if args.client_secrets and not args.forwarding:
        raise CommandError("--client-secrets connects a forwarded address (--forwarding); to read an inbox, "
                           f"run gmail-connector auth add {args.address.strip().lower()} --client-secrets FILE")
    if args.forwarding:
        runtime = bootstrap(settings)
        if args.service_account:
            print(connect_for_forwarding(runtime, args.address, args.group))
        elif args.client_secrets:
            print(consent_for_forwarding(runtime, args, args.address, args.group))
        else:
            print(connect_credentials_for_forwarding(runtime, args.address, _read_credentials(args.credentials),
                                                     args.group))
        print(f"next: gmail-connector forwarding setup {args.address.strip().lower()}")
        return 0
    if args.service_account:
        return _add_service_account(args, settings)
    info = _read_credentials(args.credentials)
    runtime = bootstrap(settings)
    require_vault(runtime)
    connect_inbox(runtime, args.address, "authorized_user", info, args.group, args.poll_interval)
    print(f"connected {args.address.lower()} (group {args.group}); the next sync backfills "
          f"unread inbox mail of the last {settings.backfill_days} days (at most {settings.backfill_max})")
    return 0


def _add_service_account(args, settings) -> int:
    """Impersonate a Workspace mailbox with its domain's stored key, checked with getProfile first."""
    address, domain = args.address.strip().lower(), domain_of(args.address)
    runtime = bootstrap(settings)
    vault = require_vault(runtime)
    ciphertext = domain_key(runtime, address)
    try:
        credentials = impersonate(vault.open(ciphertext), address, runtime.token_uri)
    except (VaultError, CredentialsError) as exc:
        raise CommandError(str(exc)) from None
    profile = confirm_account(runtime, credentials, address)
    save_grant(runtime, address, kind="service_account", secret=None, scopes=SERVICE_ACCOUNT_SCOPES,
               account=profile.email, group=args.group, poll_interval=args.poll_interval, create_only=True)
    print(f"connected {address} (group {args.group}) through the service account of {domain}; the next sync "
          f"backfills unread inbox mail of the last {settings.backfill_days} days (at most {settings.backfill_max})")
    return 0


def _age(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = int((utcnow() - when).total_seconds())
    return f"{seconds}s ago" if seconds < 120 else f"{seconds // 60}m ago"


def _list(args, settings) -> int:
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        push = push_by_inbox(session, utcnow())
        forwarding = {row.external_address: row.state for row in list_addresses(session)}
        rows = [{"address": i.address, "group": i.group, "mode": i.mode, "state": i.state,
                 "credential_kind": i.credential_kind, "history_id": i.history_id,
                 "imported_total": i.imported_total, "last_success_at": iso_utc(i.last_success_at),
                 "last_error": i.last_error, "last_error_at": iso_utc(i.last_error_at),
                 "push": push.get(i.id, NOT_WATCHED), "_age": _age(i.last_success_at),
                 "_forwarding": forwarding.get(i.address, "not an external address")} for i in list_inboxes(session)]
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], indent=2))
        return 0
    if not rows:
        print(NO_INBOXES)
        return 0
    read = [r for r in rows if r["mode"] != "forwarding"]
    if read:
        print(f"{'INBOX':<40} {'STATE':<13} {'GROUP':<18} {'IMPORTED':<15} LAST SYNC")
    for r in read:
        print(f"{r['address']:<40} {r['state']:<13} {r['group']:<18} {r['imported_total']:<15} "
              f"{r['_age']}" + ("  push" if r["push"]["enabled"] else "")
              + (f"  error: {r['last_error']}" if r['last_error'] else "")
              + (f"  push error: {r['push']['error']}" if r["push"]["error"] else ""))
    forwarded = [r for r in rows if r["mode"] == "forwarding"]
    if forwarded:
        # Connected for their settings only: never synced, so no import count or last sync to show.
        print(("\n" if read else "") + "Forwarded external addresses (settings only, never synced):")
        for r in forwarded:
            print(f"  {r['address']:<38} grant {r['state']:<13} forwarding {r['_forwarding']}"
                  + (f"  error: {r['last_error']}" if r['last_error'] else ""))
    return 0


def _change_state(settings, address: str, state: str) -> None:
    runtime = bootstrap(settings)
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        if inbox is None:
            raise CommandError(f"no connected inbox {address}")
        set_state(session, inbox, state)


def _pause(args, settings) -> int:
    _change_state(settings, args.address, "paused")
    print(f"paused {args.address.lower()}")
    return 0


def _resume(args, settings) -> int:
    _change_state(settings, args.address, "active")
    print(f"resumed {args.address.lower()}")
    return 0


def _remove(args, settings) -> int:
    runtime = bootstrap(settings)
    if settings.push_enabled:
        # Gmail keeps publishing for a watch nobody stops (for up to 7 days): stop it while the grant exists.
        stop_watch(runtime, args.address.lower())
    with session_scope(runtime.engine) as session:
        if not remove_inbox(session, args.address):
            raise CommandError(f"no connected inbox {args.address}")
    print(f"removed {args.address.lower()} and its stored credentials; its tickets are kept")
    return 0
