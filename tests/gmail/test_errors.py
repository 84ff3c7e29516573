"""What each Gmail failure becomes in the port's vocabulary."""
from __future__ import annotations

import json

import pytest

from connector.gmail import port
from connector.gmail.errors import AlreadyExists, failure_from_response, translate


def body(status: int, reason: str = "", message: str = "boom") -> bytes:
    errors = [{"domain": "global", "reason": reason, "message": message}] if reason else []
    return json.dumps({"error": {"code": status, "message": message, "errors": errors}}).encode()


def translated(status: int, reason: str = "", method: str = "messages.get", message: str = "boom",
               headers: dict | None = None) -> port.GmailError:
    return translate(failure_from_response(status, body(status, reason, message), headers or {}), method)


def test_reads_reason_message_and_retry_after_header():
    failure = failure_from_response(429, body(429, "rateLimitExceeded", "slow down"), {"Retry-After": "9"})
    assert (failure.status, failure.reason, failure.message, failure.retry_after) == (429, "rateLimitExceeded",
                                                                                    "slow down", 9.0)


def test_reads_the_retry_time_gmail_writes_in_the_message():
    message = "User-rate limit exceeded.  Retry after 2026-11-25T15:01:00.000Z"
    failure = failure_from_response(429, body(429, "rateLimitExceeded", message), {}, now=1795618800.0)
    assert failure.retry_after == 60.0


def test_reads_the_error_info_reason_when_the_legacy_errors_list_is_absent():
    content = json.dumps({"error": {"code": 403, "message": "no", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}})
    assert isinstance(translate(failure_from_response(403, content, {}), "labels.create"), port.InsufficientScope)


def test_survives_a_body_that_is_not_json():
    failure = failure_from_response(502, b"<html>Bad Gateway</html>", {})
    assert isinstance(translate(failure, "messages.list"), port.TransientError)


@pytest.mark.parametrize("status,reason,method,expected", [
    (400, "badRequest", "messages.list", port.InvalidRequest),
    (401, "authError", "messages.list", port.AuthRevoked),
    (403, "insufficientPermissions", "settings.filters.create", port.InsufficientScope),
    (403, "forbidden", "settings.forwardingAddresses.create", port.ForwardingNotPermitted),
    (403, "forbidden", "settings.forwardingAddresses.delete", port.ForwardingNotPermitted),
    (403, "forbidden", "settings.updateAutoForwarding", port.ForwardingNotPermitted),
    (403, "userRateLimitExceeded", "messages.get", port.RateLimited),
    (429, "rateLimitExceeded", "messages.list", port.RateLimited),
    (429, "userRateLimitExceeded", "messages.send", port.SendingLimitExceeded),
    (403, "dailyLimitExceeded", "messages.send", port.SendingLimitExceeded),
    (403, "quotaExceeded", "history.list", port.RateLimited),          # only a send hits the sending cap
    (403, "dailyLimitExceeded", "messages.get", port.RateLimited),
    (404, "notFound", "history.list", port.HistoryExpired),
    (404, "notFound", "messages.get", port.NotFound),
    (409, "duplicate", "labels.create", AlreadyExists),
    (500, "backendError", "messages.get", port.TransientError),
    (503, "", "messages.get", port.TransientError),
    (403, "backendError", "messages.get", port.TransientError),
])
def test_status_and_reason_map_to_port_errors(status, reason, method, expected):
    error = translated(status, reason, method)
    assert type(error) is expected
    assert method in str(error) and str(status) in str(error)


def test_rate_limits_carry_the_servers_wait():
    error = translated(429, "rateLimitExceeded", headers={"retry-after": "30"})
    assert isinstance(error, port.RateLimited) and error.retry_after == 30.0


def test_a_rate_limit_on_send_marked_mail_sending_is_the_sending_cap():
    error = translated(429, "rateLimitExceeded", "messages.send", message="User-rate limit exceeded (Mail sending)")
    assert isinstance(error, port.SendingLimitExceeded)


def test_scope_errors_name_the_feature():
    assert "filters" in str(translated(403, "insufficientPermissions", "settings.filters.create"))
    assert "labelling mail" in str(translated(403, "insufficientPermissions", "messages.batchModify"))


@pytest.mark.parametrize("status,reason,expected", [
    (404, "notFound", port.WatchRefused), (400, "invalidArgument", port.WatchRefused),
    (403, "forbidden", port.WatchRefused),
    (403, "userRateLimitExceeded", port.RateLimited), (403, "rateLimitExceeded", port.RateLimited),
    (403, "backendError", port.TransientError), (403, "insufficientPermissions", port.InsufficientScope)])
def test_only_gmails_refusals_of_the_topic_are_watch_refusals(status, reason, expected):
    # A quota or backend hiccup on users.watch must not end a working watch nor blame the topic's setup.
    error = translated(status, reason, method="watch")
    assert type(error) is expected, error
