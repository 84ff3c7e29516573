"""Workspace mailboxes connected by a service account's domain-wide delegation, against the sandbox."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import responses
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from cli_env import cli, runtime_of
from connector.cli.inboxes_cmd import connect_inbox
from connector.gmail.port import ForwardingNotPermitted
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.service_accounts import grant_of, service_account_key, stored_credential
from oauth import scopes
from oauth.service_account import GOOGLE_TOKEN_URI, ServiceAccountKeyError, impersonate, read_key_file
from sandbox.server import SandboxServer

SUPPORT = "support@masociete.com"
FACTURATION = "facturation@masociete.com"
CUSTOMER = "customer@gmail.com"
PARTNER = "tickets@partner.example"


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(mailboxes=[SUPPORT, FACTURATION, CUSTOMER], state_dir=tmp_path / "sandbox") as srv:
        yield srv


def key_file(sandbox) -> str:
    return str(Path(sandbox.state_dir) / "service_account.json")


def test_a_domain_key_connects_a_mailbox_by_impersonation(env, sandbox, capsys):
    assert cli(env, "auth", "add-service-account", key_file(sandbox), "--domain", "MaSociete.com") == 0
    out = capsys.readouterr().out
    assert "client ID 100000000000000000001" in out and ",".join(scopes.SERVICE_ACCOUNT_SCOPES) in out
    assert cli(env, "inboxes", "add", FACTURATION, "--service-account", "--group", "Billing") == 0
    assert f"connected {FACTURATION}" in capsys.readouterr().out
    runtime = runtime_of(env, sandbox)
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, FACTURATION)
        assert inbox.credential_kind == "service_account" and inbox.group == "Billing"
        assert stored_credential(session, inbox) is None               # it borrows the domain's key
        assert grant_of(session, inbox).scopes.split() == list(scopes.SERVICE_ACCOUNT_SCOPES)
        assert service_account_key(session, "masociete.com").client_email.endswith("iam.gserviceaccount.com")
    with runtime.open_gateway(FACTURATION) as gmail:
        assert gmail.profile().email == FACTURATION
        # Forwarding addresses: what only delegation may do.
        assert gmail.create_forwarding_address(PARTNER).email == PARTNER
    assert any(g.service_account and g.address == FACTURATION for g in sandbox.core.oauth.access.values())


def test_a_plain_user_token_is_refused_forwarding_with_403(env, sandbox):
    runtime = runtime_of(env, sandbox)
    connect_inbox(runtime, SUPPORT, "authorized_user", json.loads((Path(sandbox.state_dir) / f"{SUPPORT}.json")
                                                                  .read_text()))
    with runtime.open_gateway(SUPPORT) as gmail:
        with pytest.raises(ForwardingNotPermitted) as caught:
            gmail.create_forwarding_address(PARTNER)
        assert "403" in str(caught.value)
        with pytest.raises(ForwardingNotPermitted):
            gmail.update_auto_forwarding(True, PARTNER)


def test_a_mailbox_without_its_domain_key_is_told_the_command_to_run(env, sandbox, capsys):
    assert cli(env, "inboxes", "add", FACTURATION, "--service-account") == 1
    assert "auth add-service-account KEY.json --domain masociete.com" in capsys.readouterr().err


def test_a_mailbox_google_does_not_know_is_not_connected(env, sandbox, capsys):
    assert cli(env, "auth", "add-service-account", key_file(sandbox), "--domain", "masociete.com") == 0
    assert cli(env, "inboxes", "add", "nobody@masociete.com", "--service-account") == 1
    assert "nothing was stored" in capsys.readouterr().err
    with session_scope(runtime_of(env, sandbox).engine) as session:
        assert get_inbox(session, "nobody@masociete.com") is None


def test_consumer_gmail_cannot_have_a_domain_key(env, sandbox, capsys):
    assert cli(env, "auth", "add-service-account", key_file(sandbox), "--domain", "gmail.com") == 1
    assert "Workspace" in capsys.readouterr().err


def test_storing_a_key_again_rotates_it(env, sandbox, capsys):
    assert cli(env, "auth", "add-service-account", key_file(sandbox), "--domain", "masociete.com") == 0
    assert cli(env, "auth", "add-service-account", key_file(sandbox), "--domain", "masociete.com") == 0
    assert "replaced the service-account key of masociete.com" in capsys.readouterr().out


def test_a_user_file_is_not_taken_for_a_service_account_key(sandbox):
    with pytest.raises(ServiceAccountKeyError, match="not a service-account key"):
        read_key_file(Path(sandbox.state_dir) / f"{SUPPORT}.json")


def test_a_broken_private_key_is_refused_without_quoting_it(tmp_path, sandbox):
    info = json.loads(Path(key_file(sandbox)).read_text())
    info["private_key"] = "-----BEGIN PRIVATE KEY-----\nnot-really-a-key-SECRETSTUFF\n-----END PRIVATE KEY-----\n"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(info))
    with pytest.raises(ServiceAccountKeyError) as caught:
        read_key_file(broken)
    assert "SECRETSTUFF" not in str(caught.value)


@responses.activate
def test_the_key_files_token_uri_cannot_send_the_signed_assertion_elsewhere(sandbox):
    info = {**json.loads(Path(key_file(sandbox)).read_text()), "token_uri": "https://attacker.invalid/token"}
    # google-auth itself honours a service account's token_uri from the file, unlike a user's refresh token...
    assert service_account.Credentials.from_service_account_info(info)._token_uri == info["token_uri"]
    responses.add(responses.POST, GOOGLE_TOKEN_URI, json={"access_token": "ya29.sa", "expires_in": 3600})
    credentials = impersonate(info, FACTURATION)
    credentials.refresh(Request())        # ...so impersonate() pins it: an unmocked URL would raise here
    assert credentials.token == "ya29.sa" and responses.calls[0].request.url == GOOGLE_TOKEN_URI


def test_with_the_sandbox_the_assertion_goes_to_its_token_endpoint(sandbox):
    info = json.loads(Path(key_file(sandbox)).read_text())
    credentials = impersonate(info, FACTURATION, sandbox.url + "/token")
    with requests.Session() as session:
        credentials.refresh(Request(session=session))
    assert sandbox.core.oauth.access[credentials.token].address == FACTURATION


def test_a_scope_the_workspace_admin_did_not_list_is_named_on_the_inbox(env, sandbox, capsys):
    from jobs.sync_inbox import sync_inbox
    assert cli(env, "auth", "add-service-account", key_file(sandbox), "--domain", "masociete.com") == 0
    assert cli(env, "inboxes", "add", FACTURATION, "--service-account") == 0
    # The admin forgot gmail.settings.sharing under Manage Domain Wide Delegation: Google then refuses
    # every token with unauthorized_client, whichever scope is missing.
    sandbox.core.oauth.delegated_scopes = frozenset(s for s in scopes.SERVICE_ACCOUNT_SCOPES
                                                    if not s.endswith("gmail.settings.sharing"))
    sandbox.core.oauth.expire_access()
    runtime = runtime_of(env, sandbox)
    report = sync_inbox(runtime, FACTURATION)
    assert not report.ok
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, FACTURATION)
        assert inbox.state == "needs_reauth"
        assert "must add https://www.googleapis.com/auth/gmail.settings.sharing" in inbox.last_error
        assert "gmail.modify" not in inbox.last_error.split("must add", 1)[1].split(" to its")[0]


def test_the_sandbox_takes_the_admins_delegation_list_and_refuses_a_token_beyond_it(sandbox):
    answer = requests.post(f"{sandbox.url}/_sandbox/delegation", timeout=5,
                           json={"scopes": ["https://www.googleapis.com/auth/gmail.modify"]})
    assert answer.json() == {"scopes": ["https://www.googleapis.com/auth/gmail.modify"]}
    info = json.loads(Path(key_file(sandbox)).read_text())
    modify = impersonate(info, SUPPORT, sandbox.url + "/token").with_scopes([scopes.MODIFY])
    modify.refresh(Request())
    with pytest.raises(Exception, match="unauthorized_client"):
        impersonate(info, SUPPORT, sandbox.url + "/token").refresh(Request())
