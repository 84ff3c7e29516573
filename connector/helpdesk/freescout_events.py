"""FreeScout's webhook calls to POST /helpdesk/events: its signature checked, the conversation it is about.

The API & Webhooks module POSTs the conversation object (`id`, `mailboxId`, threads...) with
`X-FreeScout-Event` (e.g. convo.agent.reply.created) and `X-FreeScout-Signature`, the base64
HMAC-SHA1 of the raw body keyed with the "Secret Key" its settings page shows
(https://freescout.net/module/api-webhooks/, section "Verifying Signature"). FreeScout signs no
timestamp and retries a failed call for two hours, so there is no freshness to check: a replayed
call can at worst make the connector read that conversation once more.
"""
from __future__ import annotations

import json

from connector.helpdesk.event_auth import hmac_digest, require_secret, require_signature
from connector.helpdesk.port import EventRefused, WebhookCall

SIGNATURE = "X-FreeScout-Signature"
EVENT = "x-freescout-event"


def tickets_in_event(call: WebhookCall, secret: str) -> list[str]:
    require_secret(secret)
    require_signature(call.headers.get(SIGNATURE.lower()), hmac_digest(secret, call.body, "sha1"),
                      header=SIGNATURE)
    try:
        body = json.loads(call.body)
    except ValueError:
        raise EventRefused("the call's body is not JSON: not what FreeScout's webhooks send") from None
    event = str(call.headers.get(EVENT, ""))
    if event.startswith("customer.") or not isinstance(body, dict) or "mailboxId" not in body:
        return []           # a customer object, or no conversation: nothing for agents' answers
    number = body.get("id")
    if isinstance(number, bool) or not isinstance(number, int):
        raise EventRefused("the call's conversation has no numeric id: not what FreeScout's webhooks send")
    return [str(number)]
