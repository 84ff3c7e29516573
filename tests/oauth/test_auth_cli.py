"""`auth status`, `auth revoke`, `auth new-key` and `inboxes add --credentials`, as an operator runs them."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses
from cryptography.fernet import Fernet

from cli_env import cli, runtime_of
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, set_state
from connector.store.service_accounts import grant_of, stored_credential
from oauth.revoke import GOOGLE_REVOKE_URI, RevokeError, revoke_endpoint, revoke_token
from sandbox.server import SandboxServer

SUPPORT = "support@masociete.com"
FACTURATION = "facturation@masociete.com"


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(mailboxes=[SUPPORT, FACTURATION], state_dir=tmp_path / "sandbox") as srv:
        yield srv


def user_file(sandbox, address: str = SUPPORT) -> str:
    return str(Path(sandbox.state_dir) / f"{address}.json")


def status(env, capsys) -> dict:
    capsys.readouterr()
    assert cli(env, "auth", "status", "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_importing_a_credentials_file_records_its_scopes(env, sandbox, capsys):
    assert cli(env, "inboxes", "add", SUPPORT, "--credentials", user_file(sandbox)) == 0
    [row] = status(env, capsys)["inboxes"]
    assert row["kind"] == "authorized_user" and row["credential"] == "stored" and row["state"] == "active"
    assert "forwarding" in row["features"] and row["needs_reauth"] is False and row["fix"] is None


def test_status_names_the_exact_command_for_each_inbox_that_needs_fixing(env, sandbox, capsys):
    assert cli(env, "inboxes", "add", SUPPORT, "--credentials", user_file(sandbox)) == 0
    assert cli(env, "auth", "add-service-account", str(Path(sandbox.state_dir) / "service_account.json"),
               "--domain", "masociete.com") == 0
    assert cli(env, "inboxes", "add", FACTURATION, "--service-account") == 0
    with session_scope(runtime_of(env, sandbox).engine) as session:
        for address in (SUPPORT, FACTURATION):
            set_state(session, get_inbox(session, address), "needs_reauth")
    rows = {r["address"]: r for r in status(env, capsys)["inboxes"]}
    assert rows[SUPPORT]["needs_reauth"] and rows[SUPPORT]["fix"] == (
        f"gmail-connector auth add {SUPPORT} --client-secrets client_secret.json")
    assert rows[FACTURATION]["credential"] == "domain key"
    assert "client ID 100000000000000000001" in rows[FACTURATION]["fix"]
    assert rows[FACTURATION]["fix"].endswith(f"gmail-connector inboxes resume {FACTURATION}")
    assert cli(env, "auth", "status") == 0
    text = capsys.readouterr().out
    assert f"fix: gmail-connector auth add {SUPPORT}" in text and "service account for masociete.com" in text


def test_a_wrong_key_reads_as_restore_the_key_not_consent_again(env, sandbox, monkeypatch, capsys):
    assert cli(env, "inboxes", "add", SUPPORT, "--credentials", user_file(sandbox)) == 0
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode())
    answer = status(env, capsys)
    [row] = answer["inboxes"]
    assert row["credential"] == "unreadable" and row["needs_reauth"] is False
    assert "restore the original TOKEN_ENCRYPTION_KEY" in row["fix"]
    assert cli(env, "auth", "revoke", SUPPORT) == 1
    assert "cannot be decrypted" in capsys.readouterr().err


def test_a_missing_key_file_is_not_silently_replaced_by_status(env, sandbox, capsys):
    assert cli(env, "inboxes", "add", SUPPORT, "--credentials", user_file(sandbox)) == 0
    key = env / "data" / "token-encryption.key"
    key.unlink()
    answer = status(env, capsys)
    assert "no encryption key" in answer["encryption_key"] and answer["inboxes"][0]["credential"] == "unreadable"
    assert not key.exists()
    assert cli(env, "inboxes", "add", FACTURATION, "--credentials", user_file(sandbox, FACTURATION)) == 1
    assert "no encryption key" in capsys.readouterr().err and not key.exists()


def test_revoke_tells_google_then_forgets_the_grant(env, sandbox, capsys):
    assert cli(env, "inboxes", "add", SUPPORT, "--credentials", user_file(sandbox)) == 0
    token = json.loads(Path(user_file(sandbox)).read_text())["refresh_token"]
    assert token in sandbox.core.oauth.refresh
    assert cli(env, "auth", "revoke", SUPPORT) == 0
    out = capsys.readouterr().out
    assert "revoked the grant" in out and f"auth add {SUPPORT}" in out
    assert token not in sandbox.core.oauth.refresh
    with session_scope(runtime_of(env, sandbox).engine) as session:
        inbox = get_inbox(session, SUPPORT)
        assert inbox.state == "needs_reauth"
        assert stored_credential(session, inbox) is None and grant_of(session, inbox) is None
    [row] = status(env, capsys)["inboxes"]
    assert row["credential"] == "missing" and row["needs_reauth"]


def test_revoking_a_service_account_inbox_points_at_the_admin_console(env, sandbox, capsys):
    assert cli(env, "auth", "add-service-account", str(Path(sandbox.state_dir) / "service_account.json"),
               "--domain", "masociete.com") == 0
    assert cli(env, "inboxes", "add", FACTURATION, "--service-account") == 0
    assert cli(env, "auth", "revoke", FACTURATION) == 1
    assert "Domain-wide delegation" in capsys.readouterr().err


def test_new_key_prints_a_key_the_vault_accepts(env, sandbox, monkeypatch, capsys):
    assert cli(env, "auth", "new-key") == 0
    key = capsys.readouterr().out.strip()
    Fernet(key.encode())
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", key)
    assert cli(env, "inboxes", "add", SUPPORT, "--credentials", user_file(sandbox)) == 0
    assert not (env / "data" / "token-encryption.key").exists()      # the configured key was used


def test_a_malformed_key_is_a_clear_error(env, sandbox, monkeypatch, capsys):
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "not-a-key")
    assert cli(env, "inboxes", "add", SUPPORT, "--credentials", user_file(sandbox)) == 1
    assert "auth new-key" in capsys.readouterr().err


# ---- the revoke endpoint (mocked) ---------------------------------------------------------

@responses.activate
def test_revoke_posts_the_token_in_the_body_not_the_url():
    responses.add(responses.POST, GOOGLE_REVOKE_URI, json={})
    assert revoke_token("1//refresh-xyz") is True
    call = responses.calls[0].request
    assert call.url == GOOGLE_REVOKE_URI and parse_qs(call.body) == {"token": ["1//refresh-xyz"]}


@responses.activate
def test_an_already_dead_token_is_not_an_error():
    responses.add(responses.POST, GOOGLE_REVOKE_URI, status=400, json={"error": "invalid_token"})
    assert revoke_token("1//refresh-xyz") is False


@responses.activate
@pytest.mark.parametrize("answer", [{"status": 503, "json": {"error": "backend"}},
                                    {"body": requests.ConnectionError("refused")}])
def test_an_unreachable_or_failing_revoke_endpoint_raises_without_the_token(answer):
    responses.add(responses.POST, GOOGLE_REVOKE_URI, **answer)
    with pytest.raises(RevokeError) as caught:
        revoke_token("1//refresh-xyz")
    assert "1//refresh-xyz" not in str(caught.value)


def test_the_revoke_endpoint_follows_the_api_endpoint():
    assert revoke_endpoint("") == GOOGLE_REVOKE_URI
    assert revoke_endpoint("http://127.0.0.1:9/") == "http://127.0.0.1:9/revoke"
