"""`gmail-connector auth ...`: consent once, Workspace service accounts, status, revoke, a new key."""
from __future__ import annotations

import sys
import webbrowser

from connector.bootstrap import bootstrap
from connector.cli import CommandError
from connector.cli.auth_status import print_status
from connector.cli.grants import AccountMismatch, confirm_account, require_vault, save_grant
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, set_state
from connector.store.service_accounts import forget_grant, save_service_account_key, stored_credential
from oauth.flow import ConsentError, ConsentFlow, Grant, read_client_secrets
from oauth.loopback import LoopbackListener
from oauth.revoke import RevokeError, revoke_endpoint, revoke_token
from oauth.scopes import READ_ONLY, READING, SERVICE_ACCOUNT_SCOPES, USER_SCOPES, missing_features
from oauth.service_account import ServiceAccountKeyError, check_domain, read_key_file
from oauth.vault import VaultError, new_key


def register(sub) -> None:
    parser = sub.add_parser("auth", help="consent, service accounts and stored credentials",
                            description="Give the connector access to Gmail once, and manage the stored grants.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="consent in a browser and connect (or re-connect) an inbox")
    add.add_argument("address", help="the mailbox to connect, e.g. support@example.com")
    add.add_argument("--client-secrets", metavar="FILE.json", required=True,
                     help="the Desktop app OAuth client downloaded from the Google Cloud console")
    add.add_argument("--no-browser", action="store_true",
                     help="print the URL instead of opening a browser; the redirect address can be pasted back")
    add.add_argument("--port", type=int, default=0, help="loopback port for Google's redirect (default: a free one)")
    add.add_argument("--read-only", action="store_true", help="ask only to read mail (no labels, replies or filters)")
    add.add_argument("--group", default="Support", help="group a new inbox's tickets go to (default: Support)")
    add.set_defaults(func=_add)
    key = actions.add_parser("add-service-account", help="store a Workspace service-account key for one domain")
    key.add_argument("key_file", metavar="KEY.json", help="the service account's JSON key (stored encrypted)")
    key.add_argument("--domain", required=True, help="the Workspace domain whose mailboxes it may impersonate")
    key.set_defaults(func=_add_service_account)
    status = actions.add_parser("status", help="what each inbox is allowed to do, and what needs consent again")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=print_status)
    revoke = actions.add_parser("revoke", help="revoke an inbox's grant at Google and delete it here")
    revoke.add_argument("address")
    revoke.set_defaults(func=_revoke)
    actions.add_parser("new-key", help="print a fresh key for TOKEN_ENCRYPTION_KEY").set_defaults(func=_new_key)


def _add(args, settings) -> int:
    address = args.address.strip().lower()
    runtime = bootstrap(settings)
    require_vault(runtime)          # before the consent: a wrong key must not cost the person a sign-in
    requested = READ_ONLY if args.read_only else USER_SCOPES
    try:
        grant = _consent(args, address, requested)
    except ConsentError as exc:
        raise CommandError(str(exc)) from None
    if READING in missing_features(grant.scopes):
        _revoke_quietly(settings, grant)
        raise CommandError("the consent left out reading mail, which every inbox needs; nothing was stored. "
                           "Run the command again and keep the Gmail boxes ticked")
    try:
        profile = confirm_account(runtime, grant.credentials(runtime.token_uri), address)
    except AccountMismatch as exc:
        _revoke_quietly(settings, grant)
        raise CommandError(f"refused: Google signed in {exc.actual}, but you asked to connect {address}. Nothing "
                           f"was stored and that grant was revoked. Run the command again and choose {address} "
                           "in Google's account chooser (a private browser window avoids other signed-in "
                           "accounts)") from None
    except CommandError:
        _revoke_quietly(settings, grant)
        raise
    existed = save_grant(runtime, address, kind="authorized_user", secret={**grant.info, "account": address},
                         scopes=grant.scopes, account=profile.email, group=args.group)
    _report_added(address, args.group, existed, grant.scopes, requested)
    return 0


def _consent(args, address: str, requested) -> Grant:
    config = read_client_secrets(args.client_secrets)
    with LoopbackListener(port=args.port) as listener:
        flow = ConsentFlow(config, requested, listener.redirect_uri, login_hint=address)
        if args.no_browser:
            print(f"Open this address in a browser, sign in as {address} and press Allow:\n\n  {flow.url}\n\n"
                  "If that browser runs on another machine, the page it lands on after Allow fails to load: "
                  "copy that page's address (http://127.0.0.1:...) and paste it here.", flush=True)
            redirect = listener.wait(prompt=lambda question: input(question), state=flow.state)
        else:
            print(f"Opening your browser to sign in as {address}. If it does not open, visit:\n\n  {flow.url}\n",
                  flush=True)
            webbrowser.open(flow.url, new=1)
            redirect = listener.wait(state=flow.state)
    return flow.complete(redirect)


def _report_added(address: str, group: str, existed: bool, granted, requested) -> None:
    if existed:
        print(f"renewed the grant of {address}; it resumes from its history cursor, importing what arrived "
              "meanwhile")
    else:
        print(f"connected {address} (group {group}); the next sync backfills recent unread inbox mail")
    lost = [f for f in missing_features(granted) if f not in missing_features(requested)]
    if lost:
        print(f"warning: the consent screen left some boxes unticked, so these will not work: {', '.join(lost)}. "
              f"To enable them, run `gmail-connector auth add {address} --client-secrets ...` again and tick "
              "every box.")


def _revoke_quietly(settings, grant: Grant) -> None:
    # A grant we refuse to store must not stay live at Google; failing to say so is not worth an error.
    try:
        revoke_token(grant.info["refresh_token"], revoke_endpoint(settings.gmail_api_endpoint))
    except RevokeError:
        pass


def _add_service_account(args, settings) -> int:
    try:
        domain = check_domain(args.domain)
        info = read_key_file(args.key_file)
    except ServiceAccountKeyError as exc:
        raise CommandError(str(exc)) from None
    runtime = bootstrap(settings)
    vault = require_vault(runtime)
    with session_scope(runtime.engine) as session:
        replaced = save_service_account_key(session, domain, vault.seal(info), client_email=info["client_email"],
                                            client_id=str(info["client_id"]), key_id=str(info.get("private_key_id", "")))
    print(f"{'replaced' if replaced else 'stored'} the service-account key of {domain} "
          f"({info['client_email']}, encrypted).\nIn the Google Admin console, Security > Access and data control > "
          f"API controls > Domain-wide delegation, authorise client ID {info['client_id']} for these scopes:\n  "
          f"{','.join(SERVICE_ACCOUNT_SCOPES)}\n"
          f"Then connect mailboxes: gmail-connector inboxes add ADDRESS@{domain} --service-account")
    return 0


def _revoke(args, settings) -> int:
    runtime = bootstrap(settings)
    vault = require_vault(runtime)
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, args.address)
        if inbox is None:
            raise CommandError(f"no connected inbox {args.address}")
        stored = stored_credential(session, inbox)
        address, kind = inbox.address, stored.kind if stored else inbox.credential_kind
        ciphertext = stored.secret_ciphertext if stored else None
    if kind == "service_account":
        raise CommandError(f"{address} uses its domain's service account, which has no per-inbox grant to revoke: "
                           "remove the client ID under Domain-wide delegation in the Google Admin console, or "
                           f"disconnect it with `gmail-connector inboxes remove {address}`")
    if ciphertext is not None:
        try:
            token = vault.open(ciphertext).get("refresh_token", "")
        except VaultError as exc:
            raise CommandError(str(exc)) from None
        endpoint = revoke_endpoint(settings.gmail_api_endpoint)
        try:
            live = revoke_token(token, endpoint)
        except RevokeError as exc:
            raise CommandError(f"{exc}; nothing was deleted, try again") from None
        print(f"revoked the grant of {address} at {endpoint}" if live
              else f"Google already considered the grant of {address} dead")
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        forget_grant(session, inbox)
        set_state(session, inbox, "needs_reauth")
    print(f"deleted the stored grant; {address} needs consent again: "
          f"gmail-connector auth add {address} --client-secrets client_secret.json")
    return 0


def _new_key(args, settings) -> int:
    print(new_key())
    print("Set it as TOKEN_ENCRYPTION_KEY before connecting inboxes. Changing the key later makes the stored "
          "grants unreadable: keep it with your backups.", file=sys.stderr)
    return 0
