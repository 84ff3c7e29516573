"""When and how long to wait before repeating a Gmail call: the pure backoff policy.

googleapiclient's own `num_retries` ignores `Retry-After`, so the adapter sets it to 0 and
asks this module instead. Nothing here sleeps by itself: the sleep and the random source are
passed in, so tests run the whole policy without waiting.
"""
from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# backendError comes back as a 403 now and then; Google documents it as retryable.
RETRYABLE_403_REASONS = RATE_LIMIT_REASONS | {"backendError"}


def should_retry(status: int, reason: str = "") -> bool:
    """True for the failures Google says go away on their own (quota, overload, hiccups)."""
    if status in RETRY_STATUSES:
        return True
    return status == 403 and reason in RETRYABLE_403_REASONS


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


@dataclass(frozen=True)
class Backoff:
    """Google's exponential backoff: attempt n waits min(cap, base * 2**n + up to one second of jitter).

    The Gmail guide ("Resolve errors", exponential backoff) asks for 1 + r, 2 + r, 4 + r ... seconds with
    r a random fraction of a second, up to a maximum of 32 or 64 s. Unlike "full jitter" the wait never
    drops near zero, which matters for a 403 userRateLimitExceeded that carries no retry time.
    """
    base: float = 1.0
    cap: float = 64.0
    max_retries: int = 5
    jitter: float = 1.0

    def delay(self, attempt: int, rng: Callable[[], float], retry_after: float | None = None) -> float:
        jittered = min(self.cap, self.base * (2 ** attempt) + rng() * self.jitter)
        # The server knows better than our guess: never come back earlier than it asked.
        return max(jittered, retry_after) if retry_after is not None else jittered

    def gives_up(self, attempt: int, retry_after: float | None = None) -> bool:
        """No more tries, or the server asks for a pause longer than we would ever wait in-call.

        A long Retry-After (say, an hour for a daily cap) is better handled by the scheduler than
        by a job asleep inside a request, so the caller raises RateLimited(retry_after) instead.
        """
        if attempt >= self.max_retries:
            return True
        return retry_after is not None and retry_after > self.cap


@dataclass(frozen=True)
class Verdict:
    """What a failure means for the retry loop: retry it or not, and the server's requested pause."""
    retry: bool
    retry_after: float | None = None


def run_with_retries(call: Callable[[], T], judge: Callable[[Exception], Verdict], backoff: Backoff,
                     sleep: Callable[[float], None], rng: Callable[[], float]) -> T:
    """Run `call`, repeating it after the failures `judge` calls retryable; re-raise the last one."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # judged below; anything not retryable propagates unchanged
            verdict = judge(exc)
            if not verdict.retry or backoff.gives_up(attempt, verdict.retry_after):
                raise
            sleep(backoff.delay(attempt, rng, verdict.retry_after))
            attempt += 1
