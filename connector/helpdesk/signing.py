"""The webhook signature, Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.

Both sides use this module: `SignedWebhook` signs, and the receiver (docs/webhook.md, the tests)
verifies. The timestamp is inside the signed text, so an event captured on the wire cannot be
replayed once it is older than the tolerance; several `v1=` entries let a secret be rotated
without a window in which the receiver refuses everything.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Sequence

HEADER = "Gmail-Connector-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _secrets(secret: str | Sequence[str]) -> list[str]:
    return [secret] if isinstance(secret, str) else list(secret)


def sign(secret: str | Sequence[str], body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp`; one v1 entry per secret (old and new while rotating)."""
    entries = [f"{SCHEME}={_digest(s, body, int(timestamp))}" for s in _secrets(secret)]
    return ",".join([f"t={int(timestamp)}", *entries])


def verify(secret: str | Sequence[str], body: bytes, header: str | None, now: float,
           tolerance: float = TOLERANCE_SECONDS) -> bool:
    """True when one v1 entry is the HMAC of `body` under one of the secrets and `t` is within
    `tolerance` seconds of `now` (either way: a clock far ahead is as suspect as a stale event)."""
    timestamp, given = _parse(header or "")
    if timestamp is None or not given or abs(now - timestamp) > tolerance:
        return False
    expected = [_digest(s, body, timestamp) for s in _secrets(secret) if s]
    # Every pair is compared, without stopping at the first match, so timing tells nothing.
    matches = [hmac.compare_digest(e.encode(), g.encode()) for e in expected for g in given]
    return any(matches)


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp, given = None, []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and timestamp is None:
            timestamp = int(value)
        elif name == SCHEME and value:
            given.append(value.strip().lower())
    return timestamp, given
