"""OAuth as google-auth and google-auth-oauthlib see it: refresh, revoke, scopes, consent, service accounts."""
from __future__ import annotations

import html.parser
import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from google.auth.exceptions import RefreshError
from google_auth_oauthlib.flow import Flow
from googleapiclient.errors import HttpError

from sandbox_world import SUPPORT, mail

READONLY = "https://www.googleapis.com/auth/gmail.readonly"
METADATA = "https://www.googleapis.com/auth/gmail.metadata"
MODIFY = "https://www.googleapis.com/auth/gmail.modify"


def _post_json(url: str, payload: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_revoked_refresh_token_raises_refresh_error_invalid_grant(sandbox, gmail):
    gmail.users().getProfile(userId="me").execute()
    _post_json(sandbox.url + "/_sandbox/revoke", {"mailbox": SUPPORT})
    _post_json(sandbox.url + "/_sandbox/expire-tokens", {"mailbox": SUPPORT})
    with pytest.raises(RefreshError) as caught:
        gmail.users().getProfile(userId="me").execute()
    assert "invalid_grant" in str(caught.value)
    assert "Token has been expired or revoked." in str(caught.value)


def test_expired_access_token_is_refreshed_transparently(sandbox, gmail):
    gmail.users().getProfile(userId="me").execute()
    sandbox.core.oauth.expire_access(SUPPORT)
    before = len(sandbox.core.oauth.access)
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == SUPPORT
    assert len(sandbox.core.oauth.access) == before + 1


def test_unknown_bearer_token_is_401_auth_error(sandbox):
    request = urllib.request.Request(sandbox.url + "/gmail/v1/users/me/profile",
                                     headers={"Authorization": "Bearer nope"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    body = json.loads(caught.value.read())
    caught.value.close()
    assert caught.value.code == 401
    assert body["error"]["status"] == "UNAUTHENTICATED" and body["error"]["errors"][0]["reason"] == "authError"
    # Gmail's 401 names the header at fault ("Resolve errors", its 401 sample).
    assert body["error"]["errors"][0] == {"message": "Invalid Credentials", "domain": "global",
                                          "reason": "authError", "location": "Authorization",
                                          "locationType": "header"}


def _token_call(sandbox, form: dict) -> tuple[int, dict]:
    request = urllib.request.Request(sandbox.url + "/token", urlencode(form).encode(),
                                     {"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def _refresh_form(tmp_path, **changes) -> dict:
    info = json.loads((tmp_path / f"{SUPPORT}.json").read_text())
    form = {"grant_type": "refresh_token", "refresh_token": info["refresh_token"],
            "client_id": info["client_id"], "client_secret": info["client_secret"]}
    return {k: v for k, v in {**form, **changes}.items() if v is not None}


def test_a_wrong_client_secret_is_invalid_client_unauthorized(sandbox, tmp_path):
    assert _token_call(sandbox, _refresh_form(tmp_path, client_secret="GOCSPX-wrong")) == (
        401, {"error": "invalid_client", "error_description": "Unauthorized"})


def test_an_unknown_client_id_is_invalid_client_not_found(sandbox, tmp_path):
    assert _token_call(sandbox, _refresh_form(tmp_path, client_id="1-x.apps.googleusercontent.com")) == (
        401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})


def test_no_client_id_is_invalid_request(sandbox, tmp_path):
    assert _token_call(sandbox, _refresh_form(tmp_path, client_id=None, client_secret=None)) == (
        400, {"error": "invalid_request", "error_description": "Could not determine client ID from request."})


def test_a_refresh_token_used_by_another_client_is_unauthorized_client(sandbox, tmp_path):
    other = _post_json(sandbox.url + "/_sandbox/oauth-clients", {})
    status, body = _token_call(sandbox, _refresh_form(tmp_path, client_id=other["client_id"],
                                                      client_secret=other["client_secret"]))
    assert (status, body) == (401, {"error": "unauthorized_client", "error_description": "Unauthorized"})
    assert _token_call(sandbox, _refresh_form(tmp_path))[0] == 200      # its own client still refreshes


def test_the_connector_tells_a_token_of_another_client_to_consent_again(sandbox, tmp_path):
    from oauth.credentials import describe_refresh_error
    from oauth.credentials import load_authorized_user
    other = _post_json(sandbox.url + "/_sandbox/oauth-clients", {})
    info = {**json.loads((tmp_path / f"{SUPPORT}.json").read_text()), **other}
    credentials = load_authorized_user(info, token_uri_override=sandbox.url + "/token")
    import google.auth.transport.requests
    with pytest.raises(RefreshError) as caught:
        credentials.refresh(google.auth.transport.requests.Request())
    kind, text = describe_refresh_error(caught.value)
    assert kind == "reauth" and "unauthorized_client" in text


def test_a_missing_delegation_scope_can_be_injected_on_the_token_endpoint(sandbox, tmp_path):
    _post_json(sandbox.url + "/_sandbox/faults", {"method": "oauth.token", "reason": "unauthorized_client"})
    status, body = _token_call(sandbox, _refresh_form(tmp_path))
    assert status == 401 and body["error"] == "unauthorized_client"
    assert body["error_description"].startswith("Client is unauthorized to retrieve access tokens")


def test_scopes_follow_the_discovery_document(sandbox, connect):
    sandbox.core.deliver(SUPPORT, mail())
    reader = connect(SUPPORT, scopes=[READONLY])
    mid = reader.users().messages().list(userId="me").execute()["messages"][0]["id"]
    with pytest.raises(HttpError) as caught:
        reader.users().messages().modify(userId="me", id=mid, body={"removeLabelIds": ["UNREAD"]}).execute()
    assert caught.value.resp.status == 403
    assert caught.value.error_details[0]["reason"] == "insufficientPermissions"
    assert caught.value.reason == "Request had insufficient authentication scopes."
    modifier = connect(SUPPORT, scopes=[MODIFY])
    with pytest.raises(HttpError) as caught:
        modifier.users().messages().delete(userId="me", id=mid).execute()   # needs mail.google.com
    assert caught.value.resp.status == 403
    metadata = connect(SUPPORT, scopes=[METADATA])
    assert metadata.users().messages().get(userId="me", id=mid, format="metadata").execute()["id"] == mid
    with pytest.raises(HttpError) as caught:
        metadata.users().messages().get(userId="me", id=mid, format="raw").execute()
    assert caught.value.resp.status == 403


def test_service_account_without_subject_cannot_read_mail(connect, tmp_path):
    from google.oauth2 import service_account
    from googleapiclient.discovery import build
    creds = service_account.Credentials.from_service_account_file(str(tmp_path / "service_account.json"),
                                                                  scopes=[READONLY])
    service = build("gmail", "v1", credentials=creds, static_discovery=True,
                    client_options={"api_endpoint": json.loads((tmp_path / "service_account.json").read_text())
                                    ["token_uri"].removesuffix("/token")})
    try:
        with pytest.raises(HttpError) as caught:
            service.users().getProfile(userId="me").execute()
        assert caught.value.resp.status == 400
        assert caught.value.error_details[0]["reason"] == "failedPrecondition"
    finally:
        service.close()


class _Form(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields, self.scopes, self.accounts = {}, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "input" and attrs.get("type") == "checkbox":
            self.scopes.append(attrs["value"])
        elif tag == "option":
            self.accounts.append(attrs["value"])


def test_consent_page_code_exchange_with_pkce(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")      # loopback http, as in the sandbox
    flow = Flow.from_client_secrets_file(str(tmp_path / "client_secret.json"), scopes=[MODIFY, READONLY],
                                         redirect_uri="http://localhost:8765/")
    url, state = flow.authorization_url(login_hint=SUPPORT, prompt="consent")
    with urllib.request.urlopen(url, timeout=5) as page:
        form = _Form()
        form.feed(page.read().decode())
    assert sorted(form.scopes) == sorted([MODIFY, READONLY]) and SUPPORT in form.accounts
    approval = urlencode({**form.fields, "account": SUPPORT, "decision": "allow", "scope": MODIFY}).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(sandbox.url + "/o/oauth2/approve", approval, timeout=5)
    location = redirect.value.headers["Location"]
    redirect.value.close()
    params = parse_qs(urlsplit(location).query)
    assert location.startswith("http://localhost:8765/") and params["state"] == [state]
    assert params["scope"] == [MODIFY]
    flow.oauth2session.scope = [MODIFY]       # the user unticked a scope; oauthlib checks what it gets
    token = flow.fetch_token(authorization_response=location)
    flow.oauth2session.close()
    assert token["refresh_token"] and token["scope"] == [MODIFY]
    grant = sandbox.core.oauth.refresh[token["refresh_token"]]
    assert grant.address == SUPPORT and grant.scopes == {MODIFY}


def test_code_exchange_rejects_a_wrong_verifier(sandbox):
    oauth = sandbox.core.oauth
    code = oauth.create_code(oauth.client_id, "http://localhost/", SUPPORT, [MODIFY], challenge="abc" * 15,
                             method="S256", offline=True)
    form = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/",
                      "client_id": oauth.client_id, "client_secret": oauth.client_secret,
                      "code_verifier": "wrong"}).encode()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(sandbox.url + "/token", form, timeout=5)
    assert caught.value.code == 400 and json.loads(caught.value.read())["error"] == "invalid_grant"
    caught.value.close()


def test_consent_refuses_non_loopback_redirects(sandbox):
    oauth = sandbox.core.oauth
    query = urlencode({"client_id": oauth.client_id, "redirect_uri": "https://evil.example/cb",
                       "response_type": "code", "scope": MODIFY})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(sandbox.url + "/o/oauth2/auth?" + query, timeout=5)
    assert caught.value.code == 400
    caught.value.close()


def test_revoke_endpoint_kills_a_refresh_token(sandbox, tmp_path):
    info = json.loads((tmp_path / f"{SUPPORT}.json").read_text())
    request = urllib.request.Request(sandbox.url + "/revoke?" + urlencode({"token": info["refresh_token"]}),
                                     b"", {"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    assert info["refresh_token"] not in sandbox.core.oauth.refresh
