"""Fetch many messages through Gmail batch requests: chunking, part retries, and raw decoding.

The adapter supplies `run_batch(ids) -> {id: PartResult}` (one HTTP batch of at most `size`
calls); this module decides what each part's outcome means and which parts go round again.
Gmail advises batches of at most 50 calls: bigger ones get rate limited.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, TypeVar

from connector.gmail.errors import HttpFailure, is_rate_limit, is_transient_precondition, translate
from connector.gmail.port import FetchResult, GmailError, RawMessage
from connector.gmail.retry import Backoff, should_retry

T = TypeVar("T")

BATCH_SIZE = 50
RAW_FIELDS = "id,threadId,labelIds,historyId,internalDate,sizeEstimate,raw"


@dataclass(frozen=True)
class PartResult:
    """One call inside a batch: the JSON body on success, else the failure."""
    body: dict | None = None
    failure: HttpFailure | None = None


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def raw_message(body: dict) -> RawMessage:
    """A format=raw message body as the port's value (raw is base64url, padding optional)."""
    encoded = body.get("raw", "")
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    return RawMessage(id=body["id"], thread_id=body.get("threadId", ""),
                      label_ids=tuple(body.get("labelIds", ())), history_id=str(body.get("historyId", "")),
                      internal_date_ms=int(body.get("internalDate", 0) or 0), raw=raw,
                      size_estimate=int(body.get("sizeEstimate", 0) or 0))


def fetch_in_batches(message_ids: Sequence[str], run_batch: Callable[[list[str]], dict[str, PartResult]],
                     backoff: Backoff, sleep: Callable[[float], None], rng: Callable[[], float],
                     size: int = BATCH_SIZE) -> FetchResult:
    """Every id fetched once; parts that failed retryably go again, in smaller batches, after a pause."""
    pending = list(dict.fromkeys(message_ids))
    messages: dict[str, RawMessage] = {}
    missing: list[str] = []
    failed: dict[str, GmailError] = {}
    attempt = 0
    while pending:
        outcomes: dict[str, PartResult] = {}
        for chunk in chunked(pending, size):
            outcomes.update(run_batch(chunk))
        again, retry_after = _sort_outcomes(pending, outcomes, messages, missing, failed)
        if not again:
            break
        if backoff.gives_up(attempt, retry_after):
            failed.update({mid: translate(outcomes[mid].failure, "messages.get") for mid in again})  # type: ignore[arg-type]
            break
        sleep(backoff.delay(attempt, rng, retry_after))
        attempt += 1
        # A batch that hit the rate limit is likely to again at the same width: halve it.
        size = max(1, size // 2)
        pending = again
    return FetchResult(messages=messages, missing=tuple(missing), failed=failed)


def _sort_outcomes(pending: list[str], outcomes: dict[str, PartResult], messages: dict[str, RawMessage],
                   missing: list[str], failed: dict[str, GmailError]) -> tuple[list[str], float | None]:
    again: list[str] = []
    retry_after: float | None = None
    for mid in pending:
        outcome = outcomes.get(mid) or PartResult(failure=HttpFailure(500, "", "no answer in the batch response"))
        failure = outcome.failure
        if failure is None and outcome.body is not None:
            messages[mid] = raw_message(outcome.body)
        elif failure is not None and failure.status == 404:
            missing.append(mid)
        elif failure is not None and (should_retry(failure.status, failure.reason) or is_rate_limit(failure)
                                      or is_transient_precondition(failure, "messages.get")):
            again.append(mid)
            if failure.retry_after is not None:
                retry_after = max(retry_after or 0.0, failure.retry_after)
        else:
            failed[mid] = translate(failure or HttpFailure(500, "", "empty part"), "messages.get")
    return again, retry_after
