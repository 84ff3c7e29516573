"""Who gets in: bearer token, the dashboard cookie, loopback without a token, and never the token back."""
from __future__ import annotations

import pytest

from connector.admin.auth import COOKIE_NAME, AdminBindError, check_bind_allowed
from connector.bootstrap import Runtime
from connector.settings import Settings

from .conftest import ADMIN_TOKEN

PROTECTED = ["/status", "/metrics", "/openapi.json", "/suspended", "/tickets", "/tickets/1", "/"]


@pytest.mark.parametrize("path", PROTECTED)
def test_without_a_token_every_view_but_healthz_is_refused(runtime, serve, path):
    client = serve(runtime, token=None)
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", PROTECTED)
def test_a_wrong_token_is_refused(runtime, serve, path):
    assert serve(runtime, token=ADMIN_TOKEN + "x").get(path).status_code == 401


@pytest.mark.parametrize("path", PROTECTED)
def test_the_right_token_opens_every_view(runtime, serve, path):
    assert serve(runtime).get(path).status_code == 200


def test_actions_need_the_token_too(runtime, serve):
    client = serve(runtime, token="wrong")
    for path in ("/inboxes/help@example.com/pause", "/inboxes/help@example.com/sync", "/suspended/1/delete"):
        assert client.post(path).status_code == 401
    assert serve(runtime).get("/status").json()["inboxes"][0]["state"] == "active"


def test_healthz_needs_no_token(runtime, serve):
    assert serve(runtime, token=None).get("/healthz").status_code == 200


def test_a_token_in_the_address_becomes_an_httponly_strict_cookie(runtime, serve):
    client = serve(runtime, token=None)
    response = client.get(f"/?token={ADMIN_TOKEN}")
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert ADMIN_TOKEN not in cookie  # the cookie carries a value derived from the token
    assert client.get("/").status_code == 200
    assert client.get("/status").status_code == 200
    assert client.post("/inboxes/help@example.com/pause").status_code == 200


def test_a_wrong_token_in_the_address_sets_no_cookie(runtime, serve):
    client = serve(runtime, token=None)
    response = client.get("/?token=guess")
    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    assert "/?token=" in response.text  # tells the person how to sign in


def test_a_forged_cookie_is_refused(runtime, serve):
    client = serve(runtime, token=None)
    client.session.cookies.set(COOKIE_NAME, ADMIN_TOKEN)
    assert client.get("/status").status_code == 401


def test_without_an_admin_token_loopback_needs_none(runtime, serve):
    open_runtime = Runtime(settings=Settings(data_dir=runtime.settings.data_dir), engine=runtime.engine)
    client = serve(open_runtime, token=None)
    assert client.get("/status").status_code == 200
    assert client.get("/").status_code == 200


def test_the_openapi_schema_describes_the_status_fields(runtime, serve):
    schema = serve(runtime).get("/openapi.json").json()
    inbox = schema["components"]["schemas"]["InboxStatus"]["properties"]
    assert {"credential", "history_id", "imported_last_24h", "backoff_until", "next_run_at"} <= set(inbox)
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert "/healthz" in schema["paths"] and "/suspended/{suspended_id}/recover" in schema["paths"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"])
def test_loopback_binds_need_no_token(host):
    check_bind_allowed(host, "")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "admin.example.com"])
def test_reachable_binds_need_a_token(host):
    with pytest.raises(AdminBindError, match="ADMIN_TOKEN"):
        check_bind_allowed(host, "")
    check_bind_allowed(host, "some-token")

