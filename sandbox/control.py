"""The `/_sandbox/` control and observation endpoints: stats, faults, history expiry, revocation, mail."""
from __future__ import annotations

import html
import json

from sandbox.app import Request, Response, json_response
from sandbox.core import Sandbox
from sandbox.errors import ApiError, bad_request, not_found
from sandbox.mime import unb64url


def _body(request: Request) -> dict:
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        raise bad_request("Invalid JSON payload received.") from None
    if not isinstance(payload, dict):
        raise bad_request("Expected a JSON object.")
    return payload


def _mailbox(core: Sandbox, payload: dict):
    address = str(payload.get("mailbox") or payload.get("address") or payload.get("to") or "")
    if not address:
        raise bad_request("mailbox is required")
    return core.mailbox(address)


def handle(core: Sandbox, request: Request) -> Response:
    name = request.path.removeprefix("/_sandbox/").rstrip("/")
    action = _ACTIONS.get((request.method, name))
    if action is None:
        raise ApiError(404, f"No sandbox control {request.method} /_sandbox/{name}", "notFound")
    return action(core, request)


def _stats(core, request):
    return json_response(200, core.stats())


def _add_fault(core, request):
    """POST /_sandbox/faults {"method", "status" or "reason", "times" or "rate", "latency_ms", "mailbox"}.

    `reason` answers Google's own body for it: failedPrecondition (400, Gmail's transient "Precondition
    check failed."), userRateLimitExceeded (403 quota, no retry hint), rateLimitExceeded (403),
    backendError (500), mailSendingLimit (429 "(Mail sending)"), forwardingRulesLimit (429
    "(Forwarding rules)", an unreliable retry time), unauthorized_client (on method "oauth.token").
    Batch parts obey faults like single calls (docs/sandbox.md)."""
    payload = _body(request)
    if not any(k in payload for k in ("status", "reason", "latency_ms")):
        raise bad_request("a fault needs status or reason (with times or rate) or latency_ms")
    try:
        core.faults.add(payload)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return json_response(200, {"faults": core.faults.describe()})


def _clear_faults(core, request):
    core.faults.clear()
    return json_response(200, {"faults": []})


def _expire_history(core, request):
    with core.lock:
        box = _mailbox(core, _body(request))
        box.expire_history()
        return json_response(200, {"mailbox": box.address, "history_floor": str(box.history_floor)})


def _revoke(core, request):
    with core.lock:
        box = _mailbox(core, _body(request))
        count = core.oauth.revoke_mailbox(box.address)
    return json_response(200, {"mailbox": box.address, "revoked_refresh_tokens": count})


def _expire_tokens(core, request):
    payload = _body(request)
    with core.lock:
        core.oauth.expire_access(payload.get("mailbox"))
    return json_response(200, {"expired": True})


def _deliver(core, request):
    payload = _body(request)
    box = _mailbox(core, payload)
    try:
        raw = unb64url(str(payload.get("raw") or ""))
    except ValueError:
        raise bad_request("raw must be base64url") from None
    message_id = core.deliver(box.address, raw, payload.get("label_ids"), payload.get("internal_date_ms"))
    return json_response(200, {"id": message_id})


def _add_mailbox(core, request):
    address = str(_body(request).get("address") or "")
    if "@" not in address:
        raise bad_request("address must be an email address")
    return json_response(200, {"address": core.add_mailbox(address).address})


def _sent(core, request):
    with core.lock:
        return json_response(200, {"sent": list(core.sent)})


def _forwarded(core, request):
    with core.lock:
        return json_response(200, {"forwarded": list(core.forwarded)})


def _confirm(core, request):
    token = (request.query.get("token") or [""])[0]
    email = core.confirm_forwarding(token)
    if email is None:
        raise not_found()
    page = (f"<!doctype html><title>Confirmation Success!</title><p>{html.escape(email)} has been "
            "confirmed: it can now receive forwarded mail.</p>")
    return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _add_forwarding_in_ui(core, request):
    """POST /_sandbox/forwarding-addresses {"mailbox", "email"}: what a person does in Gmail's Settings >
    Forwarding and POP/IMAP > Add a forwarding address. Unlike the API it needs no domain-wide delegation,
    so consumer accounts can: Google then mails the confirmation (code and link) to that address."""
    payload = _body(request)
    box = _mailbox(core, payload)
    email = str(payload.get("email") or "").strip()
    if "@" not in email:
        raise bad_request("email must be the address to forward to")
    return json_response(200, core.create_forwarding(box.address, email))


def _delegation(core, request):
    """POST /_sandbox/delegation {"scopes": [...]}: what the Workspace admin listed for the service
    account (default: the four of docs/google-setup.md); a token asking for more is refused."""
    scopes = _body(request).get("scopes")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise bad_request("delegation needs scopes: a list of scope URLs")
    with core.lock:
        core.oauth.delegated_scopes = frozenset(scopes)
    return json_response(200, {"scopes": sorted(scopes)})


def _push(core, request):
    """POST /_sandbox/push {"mailbox", "expire": true} lapses its watch now; {"publisher_granted": false}
    makes users.watch answer as when gmail-api-push@system.gserviceaccount.com may not publish."""
    payload = _body(request)
    with core.lock:
        if "publisher_granted" in payload:
            core.push.publisher_granted = bool(payload["publisher_granted"])
        expired = core.push.expire(_mailbox(core, payload).address) if payload.get("expire") else False
        return json_response(200, {"publisher_granted": core.push.publisher_granted, "expired": expired,
                                   "published": len(core.push.published), "dropped": core.push.dropped})


def _add_oauth_client(core, request):
    """POST /_sandbox/oauth-clients: a second OAuth client, to rehearse a token used by the wrong one."""
    with core.lock:
        client_id, secret = core.oauth.add_client()
    return json_response(200, {"client_id": client_id, "client_secret": secret})


_ACTIONS = {
    ("GET", "stats"): _stats,
    ("POST", "faults"): _add_fault,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "expire-history"): _expire_history,
    ("POST", "revoke"): _revoke,
    ("POST", "expire-tokens"): _expire_tokens,
    ("POST", "deliver"): _deliver,
    ("POST", "mailboxes"): _add_mailbox,
    ("GET", "sent"): _sent,
    ("GET", "forwarded"): _forwarded,
    ("GET", "forwarding/confirm"): _confirm,
    ("POST", "forwarding-addresses"): _add_forwarding_in_ui,
    ("POST", "delegation"): _delegation,
    ("POST", "oauth-clients"): _add_oauth_client,
    ("POST", "push"): _push,
}
