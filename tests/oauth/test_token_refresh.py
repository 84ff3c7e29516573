"""Refreshing a stored grant against Google's token endpoint (mocked): what works, what needs consent."""
from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs

import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request

from connector.gmail import port
from oauth.gmail_access import token_failure as refresh_failure
from oauth import scopes
from oauth.credentials import CredentialsError, describe_refresh_error, load_authorized_user, load_service_account

TOKEN_URI = "https://oauth2.googleapis.com/token"
REFRESH_TOKEN = "1//0g-secret-refresh-token-do-not-log"
USER_INFO = {"client_id": "client.apps.googleusercontent.com", "client_secret": "GOCSPX-secret",
             "refresh_token": REFRESH_TOKEN, "token_uri": TOKEN_URI, "type": "authorized_user"}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    # google-auth retries 5xx at the token endpoint with real sleeps; the story does not need them.
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


@pytest.fixture
def token_endpoint():
    with responses.RequestsMock() as mock:
        yield mock


def refresh_failing(token_endpoint, caplog, **response) -> Exception:
    token_endpoint.add(responses.POST, TOKEN_URI, **response)
    credentials = load_authorized_user(USER_INFO)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(auth_exceptions.GoogleAuthError) as caught:
        credentials.refresh(Request())
    return caught.value


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert REFRESH_TOKEN not in text and "GOCSPX-secret" not in text


def test_a_refresh_that_succeeds_sends_the_refresh_token_and_gets_an_access_token(token_endpoint):
    token_endpoint.add(responses.POST, TOKEN_URI, json={"access_token": "ya29.fresh", "expires_in": 3599,
                                                        "token_type": "Bearer", "scope": scopes.MODIFY})
    credentials = load_authorized_user(USER_INFO)
    credentials.refresh(Request())
    assert credentials.token == "ya29.fresh" and credentials.valid
    sent = parse_qs(token_endpoint.calls[0].request.body.decode())
    assert sent["grant_type"] == ["refresh_token"] and sent["refresh_token"] == [REFRESH_TOKEN]


def test_the_token_uri_can_point_at_the_sandbox(token_endpoint):
    local = "http://127.0.0.1:9/token"
    token_endpoint.add(responses.POST, local, json={"access_token": "ya29.local", "expires_in": 60})
    credentials = load_authorized_user(USER_INFO, token_uri_override=local)
    credentials.refresh(Request())
    assert credentials.token == "ya29.local"


def test_a_token_uri_written_in_the_file_alone_does_not_redirect_the_refresh_token():
    credentials = load_authorized_user({**USER_INFO, "token_uri": "http://attacker.invalid/token"})
    assert credentials.token_uri == TOKEN_URI


def test_invalid_grant_means_consent_again_and_says_why(token_endpoint, caplog):
    exc = refresh_failing(token_endpoint, caplog, status=400,
                          json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    kind, text = describe_refresh_error(exc)
    assert kind == "reauth"
    for cause in ("revoked", "password", "7-day", "6 months"):
        assert cause in text
    assert isinstance(refresh_failure(exc), port.AuthRevoked)
    assert_no_secret(str(exc), text, str(refresh_failure(exc)), caplog.text)


def test_a_token_endpoint_500_means_retry_later(token_endpoint, caplog):
    exc = refresh_failing(token_endpoint, caplog, status=500, json={"error": "internal_failure"})
    assert describe_refresh_error(exc)[0] == "retry"
    assert isinstance(refresh_failure(exc), port.TransientError)
    assert_no_secret(str(exc), describe_refresh_error(exc)[1], caplog.text)


def test_an_unreachable_token_endpoint_means_retry_later(token_endpoint, caplog):
    exc = refresh_failing(token_endpoint, caplog, body=requests.ConnectionError("connection refused"))
    kind, text = describe_refresh_error(exc)
    assert kind == "retry" and "token endpoint" in text
    assert_no_secret(str(exc), text, caplog.text)


def test_an_incomplete_authorized_user_file_is_refused_without_echoing_it():
    with pytest.raises(CredentialsError) as caught:
        load_authorized_user({k: v for k, v in USER_INFO.items() if k != "client_secret"})
    assert "client_secret" in str(caught.value)
    assert_no_secret(str(caught.value))


@pytest.fixture(scope="module")
def service_account_info() -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem,
            "client_email": "connector@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": TOKEN_URI}


def test_a_service_account_impersonates_the_mailbox(token_endpoint, service_account_info):
    token_endpoint.add(responses.POST, TOKEN_URI, json={"access_token": "ya29.sa", "expires_in": 3600})
    credentials = load_service_account(service_account_info, "support@masociete.com", scopes.SERVICE_ACCOUNT_SCOPES)
    credentials.refresh(Request())
    assert credentials.token == "ya29.sa"
    assertion = parse_qs(token_endpoint.calls[0].request.body.decode())["assertion"][0]
    claims = json.loads(_b64(assertion.split(".")[1]))
    assert claims["sub"] == "support@masociete.com"
    assert set(claims["scope"].split()) == set(scopes.SERVICE_ACCOUNT_SCOPES)


def test_a_service_account_without_delegation_is_told_where_to_fix_it(token_endpoint, service_account_info, caplog):
    token_endpoint.add(responses.POST, TOKEN_URI, status=401, json={
        "error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve access tokens"})
    credentials = load_service_account(service_account_info, "support@masociete.com")
    with pytest.raises(auth_exceptions.RefreshError) as caught:
        credentials.refresh(Request())
    kind, text = describe_refresh_error(caught.value)
    assert kind == "reauth" and "domain-wide delegation" in text
    assert service_account_info["private_key"] not in text


def test_a_service_account_needs_a_subject(service_account_info):
    with pytest.raises(CredentialsError):
        load_service_account(service_account_info, "")


def _b64(segment: str) -> bytes:
    import base64
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
