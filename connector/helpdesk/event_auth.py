"""Checks that a call to POST /helpdesk/events comes from the helpdesk: its HMAC, or our secret in the URL.

Every comparison is constant-time; every refusal is one line that names what was wrong and never
the secret or the signature it expected.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from connector.helpdesk.port import EventRefused, WebhookCall

MAX_SKEW_SECONDS = 300              # a signed call older (or newer) than this is a replay


def require_secret(secret: str) -> None:
    if not secret:
        raise EventRefused("HELPDESK_WEBHOOK_SECRET is empty: calls from the helpdesk cannot be checked, so "
                           "none is accepted (docs/helpdesks.md)")


def require_path_secret(call: WebhookCall, secret: str) -> None:
    """For helpdesks that cannot sign (django-helpdesk, Freshdesk): the URL is /helpdesk/events/SECRET."""
    require_secret(secret)
    if not call.path_secret:
        raise EventRefused("this helpdesk cannot sign its calls: its webhook URL must end in "
                           "/helpdesk/events/HELPDESK_WEBHOOK_SECRET")
    if not hmac.compare_digest(call.path_secret.encode("utf-8"), secret.encode("utf-8")):
        raise EventRefused("the secret in the webhook URL is not HELPDESK_WEBHOOK_SECRET")


def hmac_digest(secret: str, data: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret.encode("utf-8"), data, getattr(hashlib, algorithm)).digest()


def require_signature(given: str | None, expected: bytes, *, header: str, encoding: str = "base64",
                      prefix: str = "") -> None:
    """`given` is the header's value; `expected` the raw digest; `encoding` how the helpdesk writes it."""
    if not given:
        raise EventRefused(f"the call has no {header} header: is the webhook set up to sign "
                           "with HELPDESK_WEBHOOK_SECRET?")
    text = given.strip()
    if prefix:
        if not text.startswith(prefix):
            raise EventRefused(f"{header} does not start with {prefix!r}")
        text = text[len(prefix):]
    wanted = base64.b64encode(expected).decode("ascii") if encoding == "base64" else expected.hex()
    if not hmac.compare_digest(text.encode("ascii", "replace"), wanted.encode("ascii")):
        raise EventRefused(f"{header} does not match the body signed with HELPDESK_WEBHOOK_SECRET")


def require_fresh(timestamp: str | float | None, now: float, *, header: str) -> float:
    """A signed timestamp within MAX_SKEW_SECONDS of now (unix seconds or ISO 8601)."""
    from datetime import datetime
    if timestamp is None or timestamp == "":
        raise EventRefused(f"the call has no {header} header")
    try:
        when = float(timestamp)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise EventRefused(f"{header} is not a time") from None
    if abs(now - when) > MAX_SKEW_SECONDS:
        raise EventRefused(f"{header} is more than {MAX_SKEW_SECONDS} s from this machine's clock: a replayed "
                           "call, or a clock to set right")
    return when
