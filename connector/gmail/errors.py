"""Turn a failed Gmail call (status, error body, headers) into the port's own errors.

Pure: it reads the parts of an HTTP failure, never `googleapiclient` itself, so the rules
are unit-tested on plain bytes and the adapter stays the only module importing the client.
Messages carry the method, status, Google's reason and message, never a token.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from connector.gmail.port import (AuthRevoked, ForwardingNotPermitted, ForwardingRulesLimited, GmailError,
                                  HistoryExpired, InsufficientScope, InvalidRequest, NotFound, RateLimited,
                                  SendingLimitExceeded, TransientError, WatchRefused)
from connector.gmail.retry import RATE_LIMIT_REASONS, parse_retry_after


class AlreadyExists(InvalidRequest):
    """409: the label (or address) is already there; ensure_label re-lists instead of failing."""


@dataclass(frozen=True)
class HttpFailure:
    """The parts of a non-2xx Gmail response that decide what it means."""
    status: int
    reason: str = ""
    message: str = ""
    retry_after: float | None = None


# Gmail sometimes tells the wait in the message instead of a header: "Retry after 2026-01-02T03:04:05Z".
_RETRY_AFTER_IN_MESSAGE = re.compile(r"Retry after (\d{4}-\d\d-\d\dT[0-9:.]+Z)")
_SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
_FORWARDING_METHODS = ("settings.forwardingAddresses.create", "settings.forwardingAddresses.delete",
                       "settings.updateAutoForwarding")
_SENDING_CAP_REASONS = {"dailyLimitExceeded", "quotaExceeded"}


def failure_from_response(status: int, content: bytes | str | None, headers: Mapping[str, str],
                          now: float | None = None) -> HttpFailure:
    """Read Google's JSON error body (tolerating HTML or empty bodies from proxies)."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else (content or "")
    reason, message = "", ""
    try:
        error = json.loads(text).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict):
        message = str(error.get("message", ""))
        details = error.get("errors") or [{}]
        reason = str(details[0].get("reason", "")) if isinstance(details[0], dict) else ""
        reason = reason or _error_info_reason(error)
    lowered = {str(k).lower(): v for k, v in headers.items()}
    retry_after = parse_retry_after(lowered.get("retry-after"), now)
    if retry_after is None:
        retry_after = _retry_after_from_message(message, now)
    return HttpFailure(status, reason, message[:300], retry_after)


def _error_info_reason(error: dict) -> str:
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    return ""


def _retry_after_from_message(message: str, now: float | None) -> float | None:
    match = _RETRY_AFTER_IN_MESSAGE.search(message)
    if not match:
        return None
    when = datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
    return max(0.0, when - (datetime.now().timestamp() if now is None else now))


def is_rate_limit(failure: HttpFailure) -> bool:
    return failure.status == 429 or (failure.status == 403 and failure.reason in RATE_LIMIT_REASONS)


# Gmail answers a read now and then with 400 failedPrecondition "Precondition check failed.", and the
# same call then succeeds (googleapis/google-api-php-client#2558, googleapis/google-api-go-client#645).
# Read calls only: on a settings call the reason means what it says ("Unrecognized forwarding address").
TRANSIENT_PRECONDITION_METHODS = frozenset({"messages.get", "messages.list", "history.list"})


def is_transient_precondition(failure: HttpFailure, method: str) -> bool:
    return failure.status == 400 and failure.reason == "failedPrecondition" and method in TRANSIENT_PRECONDITION_METHODS


# Methods that change what a mailbox forwards; Gmail limits how fast they may be called.
FORWARDING_RULE_METHODS = frozenset({"settings.filters.create", "settings.filters.delete",
                                     "settings.forwardingAddresses.create", "settings.forwardingAddresses.delete",
                                     "settings.updateAutoForwarding"})


def is_forwarding_rules_limit(failure: HttpFailure, method: str) -> bool:
    """Gmail's "(Forwarding rules)" limit: a rate limit on a forwarding change, whose retry time is unreliable."""
    return (is_rate_limit(failure) and method in FORWARDING_RULE_METHODS) or "forwarding rules" in failure.message.lower()


def is_sending_cap(failure: HttpFailure, method: str) -> bool:
    """Gmail reports the daily sending cap as a rate limit on send, marked "(Mail sending)"."""
    # Only a send can hit the sending cap: a quota error on any other method is a plain rate limit.
    if failure.status not in (403, 429) or method != "messages.send":
        return False
    return (failure.reason in _SENDING_CAP_REASONS or is_rate_limit(failure)
            or "mail sending" in failure.message.lower())


def translate(failure: HttpFailure, method: str) -> GmailError:
    """The port error for a failure that survived the adapter's retries."""
    status, said = failure.status, _describe(failure, method)
    if method == "watch" and (status in (400, 404) or (status == 403 and failure.reason not in _SCOPE_REASONS
                                                       and not is_rate_limit(failure)
                                                       and failure.reason != "backendError")):
        return WatchRefused(f"{said}: {_watch_fix(failure)}")
    if is_transient_precondition(failure, method):
        return TransientError(f"{said}: Gmail says this now and then and the same call then succeeds; retried later")
    if status == 400:
        return InvalidRequest(said)
    if status == 401:
        return AuthRevoked(f"{said}: the access token was refused even after a refresh; consent must be given again")
    if is_sending_cap(failure, method):
        return SendingLimitExceeded(f"{said}: the mailbox reached Gmail's sending limit", failure.retry_after)
    if is_forwarding_rules_limit(failure, method):
        return ForwardingRulesLimited(f"{said}: Gmail limits how often forwarding rules may change",
                                      failure.retry_after)
    if is_rate_limit(failure) or failure.reason in _SENDING_CAP_REASONS:
        # A spent daily or project quota is not a missing scope: wait, do not ask for consent again.
        return RateLimited(said, failure.retry_after)
    if status == 403:
        return _forbidden(failure, method, said)
    if status == 404:
        return HistoryExpired(said) if method == "history.list" else NotFound(said)
    if status == 409:
        return AlreadyExists(said)
    if status >= 500:
        return TransientError(said)
    return InvalidRequest(said)


def _watch_fix(failure: HttpFailure) -> str:
    """What the admin does in the Cloud console for each of Gmail's refusals of users.watch."""
    if failure.status == 404:
        return "the Pub/Sub topic does not exist: create it (docs/google-setup.md, Gmail push)"
    if failure.status == 403:
        return ("grant gmail-api-push@system.gserviceaccount.com the Pub/Sub Publisher role "
                "(roles/pubsub.publisher) on the topic (docs/google-setup.md, Gmail push)")
    return ("PUBSUB_TOPIC must be a topic of the Cloud project that owns the OAuth client or service account, "
            "written projects/PROJECT/topics/NAME")


def _forbidden(failure: HttpFailure, method: str, said: str) -> GmailError:
    if failure.reason in _SCOPE_REASONS:
        return InsufficientScope(f"{said}: the grant lacks the scope for {feature_of(method)}")
    if method in _FORWARDING_METHODS:
        return ForwardingNotPermitted(
            f"{said}: Gmail lets only a service account with domain-wide delegation change forwarding")
    if failure.reason == "backendError":
        return TransientError(said)
    return InsufficientScope(f"{said}: not permitted for {feature_of(method)}")


def feature_of(method: str) -> str:
    """The feature a Gmail method serves, in the words oauth.scopes uses for features."""
    if method.startswith("settings.forwardingAddresses") or "AutoForwarding" in method:
        return "forwarding"
    if method.startswith("settings.filters"):
        return "filters"
    if method.startswith("settings.sendAs"):
        return "send-as addresses"
    if method == "messages.send":
        return "sending replies"
    if method.startswith("labels") or method == "messages.batchModify":
        return "labelling mail"
    return "reading mail"


def _describe(failure: HttpFailure, method: str) -> str:
    reason = f" {failure.reason}" if failure.reason else ""
    message = f" ({failure.message})" if failure.message else ""
    return f"Gmail {method} failed: HTTP {failure.status}{reason}{message}"


def transport_failure(exc: Exception, method: str) -> TransientError:
    return TransientError(f"Gmail {method} failed: network error {type(exc).__name__}")
