"""`auth add`: a person consents on the sandbox's Google pages, and the inbox is connected (or refused)."""
from __future__ import annotations

import json
import os
import re
import webbrowser
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from cli_env import cli, runtime_of
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, set_state
from connector.store.service_accounts import grant_of, stored_credential
from consent_driver import Browser, approve
from oauth import scopes
from oauth.flow import ConsentError, ConsentFlow
from sandbox.server import SandboxServer

SUPPORT = "support@masociete.com"
BILLING = "billing@masociete.com"


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(mailboxes=[SUPPORT, BILLING], state_dir=tmp_path / "sandbox") as srv:
        yield srv


def auth_add(env, sandbox, address=SUPPORT, *extra: str) -> int:
    return cli(env, "auth", "add", address, "--client-secrets", str(sandbox.state_dir / "client_secret.json"), *extra)


@pytest.fixture
def browser(monkeypatch):
    def use(account: str, **kwargs) -> Browser:
        fake = Browser(account, **kwargs)
        monkeypatch.setattr(webbrowser, "open", fake.open)
        return fake
    return use


def refresh_tokens_of(sandbox, address: str) -> set[str]:
    return {t for t, g in sandbox.core.oauth.refresh.items() if g.address == address}


def test_consent_in_the_browser_connects_the_inbox_through_the_loopback_redirect(env, sandbox, browser, capsys):
    person = browser(SUPPORT)
    assert auth_add(env, sandbox) == 0
    person.join()
    out = capsys.readouterr().out
    assert f"connected {SUPPORT}" in out and "warning" not in out
    url = urlsplit(person.opened[0])
    asked = parse_qs(url.query)
    assert url.path == "/o/oauth2/auth"
    assert asked["access_type"] == ["offline"] and asked["prompt"] == ["consent"]
    assert asked["login_hint"] == [SUPPORT] and asked["code_challenge_method"] == ["S256"]
    assert set(asked["scope"][0].split()) == set(scopes.USER_SCOPES)
    assert asked["redirect_uri"][0].startswith("http://127.0.0.1:")
    runtime = runtime_of(env, sandbox)
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, SUPPORT)
        assert inbox.state == "active" and inbox.credential_kind == "authorized_user"
        assert set(grant_of(session, inbox).scopes.split()) == set(scopes.USER_SCOPES)
        assert grant_of(session, inbox).account == SUPPORT
    with runtime.open_gateway(SUPPORT) as gmail:                          # the stored grant works by itself
        assert gmail.profile().email == SUPPORT


def test_a_given_port_is_the_one_google_redirects_to(env, sandbox, browser):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    person = browser(SUPPORT)
    assert auth_add(env, sandbox, SUPPORT, "--port", str(port)) == 0
    person.join()
    assert parse_qs(urlsplit(person.opened[0]).query)["redirect_uri"] == [f"http://127.0.0.1:{port}/"]


def test_consent_by_another_account_is_refused_and_nothing_is_stored(env, sandbox, browser, capsys):
    before = refresh_tokens_of(sandbox, BILLING)
    person = browser(BILLING)
    assert auth_add(env, sandbox) == 1
    person.join()
    err = capsys.readouterr().err
    assert f"signed in {BILLING}" in err and f"connect {SUPPORT}" in err and "Nothing was stored" in err
    with session_scope(runtime_of(env, sandbox).engine) as session:
        assert get_inbox(session, SUPPORT) is None and get_inbox(session, BILLING) is None
    assert refresh_tokens_of(sandbox, BILLING) == before        # the unwanted grant was revoked at Google


def test_an_unticked_scope_connects_and_names_the_features_that_will_not_work(env, sandbox, browser, capsys):
    person = browser(SUPPORT, untick=(scopes.SETTINGS_BASIC,))
    assert auth_add(env, sandbox) == 0
    person.join()
    out = capsys.readouterr().out
    assert f"connected {SUPPORT}" in out
    assert re.search(r"warning: .*will not work: filters\.", out)
    assert cli(env, "auth", "status", "--json") == 0
    [row] = json.loads(capsys.readouterr().out)["inboxes"]
    assert scopes.SETTINGS_BASIC not in row["scopes"] and "filters" in row["features_missing"]
    assert row["needs_reauth"] is False


def test_unticking_gmail_reading_is_refused(env, sandbox, browser, capsys):
    person = browser(SUPPORT, untick=(scopes.MODIFY,))
    assert auth_add(env, sandbox) == 1
    person.join()
    assert "reading mail" in capsys.readouterr().err
    with session_scope(runtime_of(env, sandbox).engine) as session:
        assert get_inbox(session, SUPPORT) is None


def test_cancel_on_the_consent_page_says_so(env, sandbox, browser, capsys):
    person = browser(SUPPORT, decision="deny")
    assert auth_add(env, sandbox) == 1
    person.join()
    assert "cancelled" in capsys.readouterr().err


def test_read_only_asks_for_the_readonly_scope_alone(env, sandbox, browser, capsys):
    person = browser(SUPPORT)
    assert auth_add(env, sandbox, SUPPORT, "--read-only") == 0
    person.join()
    assert parse_qs(urlsplit(person.opened[0]).query)["scope"] == [scopes.READONLY]
    assert "warning" not in capsys.readouterr().out


def test_no_browser_prints_the_url_and_takes_the_redirect_address_pasted_back(env, sandbox, monkeypatch, capsys):
    def no_browser(*args, **kwargs):
        raise AssertionError("--no-browser must not open a browser")

    def person_on_another_machine(question: str) -> str:
        printed = capsys.readouterr().out
        url = re.search(r"^\s+(http://\S+/o/oauth2/auth\?\S+)$", printed, re.M).group(1)
        # That machine's browser cannot reach our loopback: the person copies the address it failed to load.
        return approve(url, SUPPORT, follow=False)

    monkeypatch.setattr(webbrowser, "open", no_browser)
    monkeypatch.setattr("builtins.input", person_on_another_machine)
    assert auth_add(env, sandbox, SUPPORT, "--no-browser") == 0
    assert f"connected {SUPPORT}" in capsys.readouterr().out


def test_consent_again_revives_an_inbox_that_needed_it_and_keeps_its_cursor(env, sandbox, browser, capsys):
    person = browser(SUPPORT)
    assert auth_add(env, sandbox) == 0
    runtime = runtime_of(env, sandbox)
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, SUPPORT)
        inbox.history_id = "4242"
        set_state(session, inbox, "needs_reauth")
        first = bytes(stored_credential(session, inbox).secret_ciphertext)
    assert auth_add(env, sandbox) == 0
    person.join()
    assert "renewed the grant" in capsys.readouterr().out
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, SUPPORT)
        assert inbox.state == "active" and inbox.history_id == "4242"
        assert bytes(stored_credential(session, inbox).secret_ciphertext) != first


def test_after_consent_again_the_sync_resumes_from_its_cursor_without_duplicates(env, sandbox, browser):
    from connector import demo_mail
    from jobs.sync_inbox import sync_inbox

    runtime = runtime_of(env, sandbox)

    def sync():
        return sync_inbox(runtime, SUPPORT)

    person = browser(SUPPORT)
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 1))
    assert auth_add(env, sandbox) == 0
    assert sync().imported == 1
    sandbox.core.oauth.revoke_mailbox(SUPPORT)          # the person removed the app's access
    sandbox.core.oauth.expire_access(SUPPORT)
    assert sync().error_kind == "auth_revoked"
    sandbox.core.deliver(SUPPORT, demo_mail.customer_mail(SUPPORT, 2))
    assert sync().mode == "skipped"                     # needs_reauth: nothing is tried until consent
    with session_scope(runtime.engine) as session:
        cursor = get_inbox(session, SUPPORT).history_id
    assert auth_add(env, sandbox) == 0
    person.join()
    report = sync()
    assert report.ok and report.mode == "incremental" and report.imported == 1
    with session_scope(runtime.engine) as session:
        assert get_inbox(session, SUPPORT).history_id != cursor
    assert sync().imported == 0


def test_a_wrong_encryption_key_stops_before_any_consent(env, sandbox, browser, monkeypatch, capsys):
    person = browser(SUPPORT)
    assert auth_add(env, sandbox) == 0
    person.join()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "A" * 43 + "=")
    assert auth_add(env, sandbox) == 1
    assert len(person.opened) == 1                       # no second sign-in was started
    assert "cannot be decrypted" in capsys.readouterr().err


# ---- the code exchange against Google's token endpoint (mocked) ---------------------------

GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
CLIENT = {"installed": {"client_id": "123-desk.apps.googleusercontent.com", "client_secret": "GOCSPX-unit",
                        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": GOOGLE_TOKEN}}
REDIRECT = "http://127.0.0.1:8765/"


def started() -> ConsentFlow:
    return ConsentFlow(CLIENT, scopes.USER_SCOPES, REDIRECT, login_hint=SUPPORT)


def back(flow: ConsentFlow, **params: str) -> str:
    from urllib.parse import urlencode
    return REDIRECT + "?" + urlencode({"state": flow.state, **params})


@responses.activate
def test_the_exchange_sends_code_verifier_and_redirect_and_keeps_the_refresh_token():
    responses.add(responses.POST, GOOGLE_TOKEN, json={
        "access_token": "ya29.unit", "expires_in": 3599, "refresh_token": "1//unit-refresh", "token_type": "Bearer",
        "scope": " ".join(scopes.USER_SCOPES)})
    flow = started()
    grant = flow.complete(back(flow, code="4/unit-code"))
    sent = parse_qs(responses.calls[0].request.body)
    assert sent["grant_type"] == ["authorization_code"] and sent["code"] == ["4/unit-code"]
    assert sent["redirect_uri"] == [REDIRECT] and len(sent["code_verifier"][0]) >= 43
    assert grant.info["refresh_token"] == "1//unit-refresh" and grant.info["client_id"] == CLIENT["installed"]["client_id"]
    assert set(grant.scopes) == set(scopes.USER_SCOPES)
    assert "1//unit-refresh" not in repr(grant)
    assert not any(k.startswith("OAUTHLIB_") for k in os.environ)     # the leniency switches were put back


@responses.activate
def test_fewer_scopes_granted_than_asked_is_a_grant_not_an_error():
    responses.add(responses.POST, GOOGLE_TOKEN, json={
        "access_token": "ya29.unit", "expires_in": 3599, "refresh_token": "1//unit-refresh", "token_type": "Bearer",
        "scope": scopes.MODIFY})
    flow = started()
    assert flow.complete(back(flow, code="4/unit-code")).scopes == (scopes.MODIFY,)


@responses.activate
def test_an_invalid_grant_at_the_exchange_says_to_start_again_without_quoting_the_code():
    responses.add(responses.POST, GOOGLE_TOKEN, status=400,
                  json={"error": "invalid_grant", "error_description": "Malformed auth code."})
    flow = started()
    with pytest.raises(ConsentError) as caught:
        flow.complete(back(flow, code="4/secret-code"))
    assert "invalid_grant" in str(caught.value) and "run the command again" in str(caught.value)
    assert "4/secret-code" not in str(caught.value) and "GOCSPX-unit" not in str(caught.value)


@responses.activate
def test_an_answer_without_a_refresh_token_is_refused():
    responses.add(responses.POST, GOOGLE_TOKEN, json={"access_token": "ya29.unit", "expires_in": 3599,
                                                      "token_type": "Bearer"})
    flow = started()
    with pytest.raises(ConsentError, match="no refresh token"):
        flow.complete(back(flow, code="4/unit-code"))


@responses.activate
def test_a_redirect_from_another_sign_in_is_refused_before_any_exchange():
    flow = started()
    with pytest.raises(ConsentError, match="another sign-in"):
        flow.complete(REDIRECT + "?state=forged&code=4/unit-code")
    assert len(responses.calls) == 0
