"""Zendesk's webhook calls to POST /helpdesk/events: checked against its signature, read for the ticket id.

Zendesk signs each call with the webhook's signing secret (HELPDESK_WEBHOOK_SECRET):
X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(timestamp + body)), the timestamp in
X-Zendesk-Webhook-Signature-Timestamp (https://developer.zendesk.com/documentation/webhooks/verifying/).
The body is the trigger's JSON, {"ticket_id": "{{ticket.id}}"} in the guide; a webhook subscribed
to ticket events sends {"type": "zen:event-type:ticket....", "detail": {"id": ...}} instead
(https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/). Both are read.
"""
from __future__ import annotations

import json
from typing import Any

from connector.helpdesk.event_auth import hmac_digest, require_fresh, require_secret, require_signature
from connector.helpdesk.port import EventRefused, WebhookCall

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
_TICKET_EVENT = "zen:event-type:ticket."


def tickets_in(call: WebhookCall, secret: str) -> list[str]:
    require_secret(secret)
    timestamp = call.headers.get(TIMESTAMP.lower())
    if not timestamp:
        raise EventRefused(f"the call has no {TIMESTAMP} header: is it Zendesk's webhook?")
    expected = hmac_digest(secret, timestamp.encode("utf-8") + call.body)
    require_signature(call.headers.get(SIGNATURE.lower()), expected, header=SIGNATURE)
    require_fresh(timestamp, call.received_at, header=TIMESTAMP)
    try:
        body = json.loads(call.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EventRefused("the webhook's body is not JSON: set its request format to JSON") from None
    number = _ticket_id(body)
    if number is None:
        raise EventRefused('the webhook\'s body names no ticket: set the trigger\'s JSON body to '
                           '{"ticket_id": "{{ticket.id}}"}')
    return [number]


def _ticket_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if str(body.get("type", "")).startswith(_TICKET_EVENT):
        candidates = [(body.get("detail") or {}).get("id")]
    else:
        ticket = body.get("ticket")
        candidates = [body.get("ticket_id"), ticket.get("id") if isinstance(ticket, dict) else None]
    for value in candidates:
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if text.isascii() and text.isdigit():
            return str(int(text))
    return None
