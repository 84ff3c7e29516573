"""The backoff policy: which failures repeat, how long we wait, when we give up."""
from __future__ import annotations

import pytest

from connector.gmail.retry import Backoff, Verdict, parse_retry_after, run_with_retries, should_retry


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_quota_and_server_errors_are_retried(status):
    assert should_retry(status)


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded", "backendError"])
def test_403_with_a_rate_reason_is_retried(reason):
    assert should_retry(403, reason)


@pytest.mark.parametrize("status,reason", [(400, ""), (401, ""), (403, "insufficientPermissions"),
                                           (403, "forbidden"), (403, "dailyLimitExceeded"), (404, ""), (409, "")])
def test_client_errors_are_not_retried(status, reason):
    assert not should_retry(status, reason)


def test_waits_follow_googles_guidance_two_to_the_n_plus_up_to_a_second_up_to_the_cap():
    backoff = Backoff(base=1, cap=64)
    assert [backoff.delay(n, rng=lambda: 0.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 64, 64]
    assert [backoff.delay(n, rng=lambda: 0.5) for n in range(8)] == [1.5, 2.5, 4.5, 8.5, 16.5, 32.5, 64, 64]


def test_no_wait_is_ever_shorter_than_the_exponential_floor():
    # A hint-less 403 userRateLimitExceeded must not be hammered: "full jitter" could retry at once.
    backoff = Backoff()
    assert min(backoff.delay(0, rng=lambda: 0.0), backoff.delay(0, rng=lambda: 0.999)) >= 1.0


def test_retry_after_is_a_floor_under_the_jitter():
    backoff = Backoff()
    assert backoff.delay(0, rng=lambda: 0.5, retry_after=7) == 7
    assert backoff.delay(5, rng=lambda: 1.0, retry_after=7) == 33


def test_a_retry_after_longer_than_the_cap_is_left_to_the_scheduler():
    backoff = Backoff(cap=64, max_retries=5)
    assert backoff.gives_up(0, retry_after=3600)
    assert not backoff.gives_up(0, retry_after=30)
    assert backoff.gives_up(5)


@pytest.mark.parametrize("header,expected", [("12", 12.0), (" 3.5 ", 3.5), ("-4", 0.0), ("", None), (None, None),
                                             ("soon", None), ("Wed, 25 Nov 2026 15:00:30 GMT", 30.0)])
def test_retry_after_header_in_seconds_or_as_a_date(header, expected):
    now = 1795618800.0  # Wed, 25 Nov 2026 15:00:00 GMT
    assert parse_retry_after(header, now=now) == expected


class Flaky:
    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("down")
        return "ok"


def test_run_with_retries_sleeps_between_attempts_and_returns_the_result():
    sleeps: list[float] = []
    call = Flaky(failures=2)
    result = run_with_retries(call, lambda exc: Verdict(True, 5), Backoff(), sleeps.append, lambda: 0.5)
    assert result == "ok" and call.calls == 3
    assert sleeps == [5, 5]


def test_run_with_retries_reraises_after_max_retries():
    sleeps: list[float] = []
    call = Flaky(failures=10)
    with pytest.raises(ConnectionError):
        run_with_retries(call, lambda exc: Verdict(True), Backoff(max_retries=3), sleeps.append, lambda: 0.0)
    assert call.calls == 4 and sleeps == [1, 2, 4]


def test_run_with_retries_does_not_repeat_what_the_judge_refuses():
    call = Flaky(failures=1)
    with pytest.raises(ConnectionError):
        run_with_retries(call, lambda exc: Verdict(False), Backoff(), lambda s: pytest.fail("slept"), lambda: 1.0)
    assert call.calls == 1
