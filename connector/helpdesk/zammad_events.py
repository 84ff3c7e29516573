"""Checks a call of Zammad's webhook (trigger action "Webhook") and names the ticket it is about.

Zammad signs the raw body with the webhook's "HMAC SHA1 Signature Token" and sends
`X-Hub-Signature: sha1=<hex>` (lib/user_agent.rb, set_signature); the token must be
HELPDESK_WEBHOOK_SECRET. Zammad signs no timestamp, so a replayed call cannot be told from a new
one: it can at worst make the connector read the ticket again, and answers are sent once per key.
"""
from __future__ import annotations

import json

from connector.helpdesk.event_auth import hmac_digest, require_secret, require_signature
from connector.helpdesk.port import EventRefused, WebhookCall

HEADER = "X-Hub-Signature"


def tickets_in_event(call: WebhookCall, secret: str) -> list[str]:
    require_secret(secret)
    require_signature(call.headers.get(HEADER.lower()), hmac_digest(secret, call.body, "sha1"), header=HEADER,
                      encoding="hex", prefix="sha1=")
    try:
        payload = json.loads(call.body)
    except ValueError:
        raise EventRefused("the webhook call's body is not JSON: use Zammad's default webhook payload") from None
    ticket = payload.get("ticket") if isinstance(payload, dict) else None
    number = str(ticket.get("id") if isinstance(ticket, dict) else "").strip()
    if not (number.isascii() and number.isdigit()):
        raise EventRefused("the webhook call names no ticket (ticket.id): use Zammad's default webhook payload, "
                           "or a custom one with \"ticket\": {\"id\": \"#{ticket.id}\"}")
    return [number]
