"""Google's OAuth endpoints on the sandbox: /token, /revoke, and the consent page with its approval."""
from __future__ import annotations

import base64
import binascii
import html
import time
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from sandbox.app import Request, Response, json_response
from sandbox.core import Sandbox
from sandbox.errors import ApiError
from sandbox.jwt_bearer import GrantError

_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_KEEP = ("client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "access_type")


def handle(core: Sandbox, request: Request) -> Response:
    path = request.path
    if path == "/token" and request.method == "POST":
        return _token(core, request)
    if path in ("/revoke", "/o/oauth2/revoke") and request.method == "POST":
        return _revoke(core, request)
    if path in ("/o/oauth2/auth", "/o/oauth2/v2/auth") and request.method == "GET":
        return _consent_page(core, {k: v[-1] for k, v in request.query.items()})
    if path == "/o/oauth2/approve" and request.method == "POST":
        return _approve(core, dict(_form_items(request)), [v for k, v in _form_items(request) if k == "scope"])
    raise ApiError(404, "Not Found", "notFound")


def _form_items(request: Request) -> list[tuple[str, str]]:
    return parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)


def _token(core: Sandbox, request: Request) -> Response:
    delay, fault = core.faults.check("oauth.token", None)
    if delay:
        time.sleep(delay)
    if fault:
        # OAuth's own error codes (unauthorized_client, ...) answer in the token endpoint's shape.
        code = fault.reason if fault.reason and fault.reason.islower() else "internal_failure"
        return json_response(fault.code, {"error": code, "error_description": fault.message})
    form = dict(_form_items(request))
    form.update({k: v for k, v in _basic_client(request).items() if not form.get(k)})
    try:
        with core.lock:
            answer = core.oauth.token(form)
    except GrantError as exc:
        return json_response(exc.status, exc.body(), {"Cache-Control": "no-store"})
    return json_response(200, answer, {"Cache-Control": "no-store"})


def _basic_client(request: Request) -> dict[str, str]:
    """Client credentials sent as HTTP Basic auth (requests-oauthlib does this), as Google accepts."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return {}
    return {"client_id": unquote(client_id), "client_secret": unquote(secret)}


def _revoke(core: Sandbox, request: Request) -> Response:
    token = (request.query.get("token") or [""])[0] or dict(_form_items(request)).get("token", "")
    with core.lock:
        revoked = core.oauth.revoke(token)
    if not revoked:
        return json_response(400, {"error": "invalid_token", "error_description": "Token expired or revoked"})
    return json_response(200, {})


def _html(status: int, title: str, body: str) -> Response:
    page = f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>{body}</body></html>"
    return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _refusal(core: Sandbox, params: dict) -> Response | None:
    if params.get("client_id") not in core.oauth.clients:
        return _html(401, "Error 401: invalid_client", "<h1>Error 401: invalid_client</h1><p>The OAuth client was "
                     "not found.</p>")
    target = urlsplit(params.get("redirect_uri", ""))
    if target.scheme != "http" or target.hostname not in _LOOPBACK:
        return _html(400, "Error 400: redirect_uri_mismatch", "<h1>Error 400: redirect_uri_mismatch</h1>"
                     "<p>Only loopback redirect URIs are allowed for this installed-app client.</p>")
    if params.get("response_type", "code") != "code" or not params.get("scope", "").split():
        return _html(400, "Error 400: invalid_request", "<h1>Error 400: invalid_request</h1>"
                     "<p>Required parameter is missing: response_type=code and scope.</p>")
    return None


def _consent_page(core: Sandbox, params: dict) -> Response:
    refusal = _refusal(core, params)
    if refusal:
        return refusal
    hint = params.get("login_hint", "").lower()
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(params.get(k, ""))}">' for k in _KEEP)
    accounts = "".join(f'<option value="{html.escape(a)}"{" selected" if a == hint else ""}>{html.escape(a)}</option>'
                       for a in sorted(core.boxes))
    scopes = "".join(f'<li><label><input type="checkbox" name="scope" value="{html.escape(s)}" checked> '
                     f'{html.escape(s)}</label></li>' for s in params["scope"].split())
    body = (f'<h1>Sign in with Google (sandbox)</h1><form method="post" action="/o/oauth2/approve">{hidden}'
            f'<p>Account: <select name="account">{accounts}</select></p><p>The app wants to:</p><ul>{scopes}</ul>'
            '<button name="decision" value="allow">Allow</button> '
            '<button name="decision" value="deny">Cancel</button></form>')
    return _html(200, "Sign in - Google Accounts", body)


def _approve(core: Sandbox, form: dict, scopes: list[str]) -> Response:
    refusal = _refusal(core, {**form, "scope": " ".join(scopes) or "none"})
    if refusal:
        return refusal
    back = {"state": form["state"]} if form.get("state") else {}
    account = form.get("account", "").lower()
    if form.get("decision") == "deny" or not scopes or account not in core.boxes:
        return _redirect(form["redirect_uri"], {**back, "error": "access_denied"})
    with core.lock:
        code = core.oauth.create_code(form["client_id"], form["redirect_uri"], account, scopes,
                                      form.get("code_challenge", ""), form.get("code_challenge_method", ""),
                                      offline=form.get("access_type") == "offline")
    return _redirect(form["redirect_uri"], {**back, "code": code, "scope": " ".join(scopes)})


def _redirect(uri: str, params: dict) -> Response:
    glue = "&" if urlsplit(uri).query else "?"
    return Response(302, b"", {"Location": uri + glue + urlencode(params)})
