"""Batched raw fetches: chunks of 50, part outcomes, smaller follow-up batches after a pause."""
from __future__ import annotations

import base64

from connector.gmail import port
from connector.gmail.batching import PartResult, chunked, fetch_in_batches, raw_message
from connector.gmail.errors import HttpFailure
from connector.gmail.retry import Backoff


def message_body(mid: str) -> dict:
    raw = base64.urlsafe_b64encode(f"Subject: {mid}\r\n\r\nhi".encode()).decode().rstrip("=")
    return {"id": mid, "threadId": "t" + mid, "labelIds": ["INBOX"], "historyId": "77",
            "internalDate": "1700000000000", "sizeEstimate": 42, "raw": raw}


class FakeBatches:
    """Answers each batch from a script: {id: [failure statuses to give before succeeding]}."""

    def __init__(self, script: dict[str, list[HttpFailure]] | None = None):
        self.script = script or {}
        self.sizes: list[int] = []

    def __call__(self, ids: list[str]) -> dict[str, PartResult]:
        self.sizes.append(len(ids))
        answers = {}
        for mid in ids:
            pending = self.script.get(mid, [])
            answers[mid] = PartResult(failure=pending.pop(0)) if pending else PartResult(body=message_body(mid))
        return answers


def test_chunked_splits_without_losing_ids():
    assert [len(c) for c in chunked(list(range(120)), 50)] == [50, 50, 20]


def test_raw_message_decodes_unpadded_base64url():
    message = raw_message(message_body("m1"))
    assert message.raw == b"Subject: m1\r\n\r\nhi"
    assert (message.thread_id, message.label_ids, message.internal_date_ms) == ("tm1", ("INBOX",), 1700000000000)


def test_120_ids_go_out_as_three_batches_of_at_most_50():
    run = FakeBatches()
    result = fetch_in_batches([f"m{i}" for i in range(120)], run, Backoff(), lambda s: None, lambda: 0.5)
    assert run.sizes == [50, 50, 20]
    assert len(result.messages) == 120 and not result.missing and not result.failed


def test_retryable_parts_go_again_in_a_smaller_batch_after_a_pause():
    script = {"m3": [HttpFailure(429, "rateLimitExceeded", retry_after=4)], "m7": [HttpFailure(503)]}
    run, sleeps = FakeBatches(script), []
    result = fetch_in_batches([f"m{i}" for i in range(60)], run, Backoff(), sleeps.append, lambda: 0.5)
    assert run.sizes == [50, 10, 2]
    assert sleeps == [4]
    assert set(result.messages) == {f"m{i}" for i in range(60)}


def test_404_parts_are_missing_and_other_failures_are_translated():
    script = {"gone": [HttpFailure(404, "notFound")], "bad": [HttpFailure(400, "badRequest", "nope")]}
    result = fetch_in_batches(["ok", "gone", "bad"], FakeBatches(script), Backoff(), lambda s: None, lambda: 0.5)
    assert set(result.messages) == {"ok"}
    assert result.missing == ("gone",)
    assert isinstance(result.failed["bad"], port.InvalidRequest)


def test_parts_still_failing_after_max_retries_are_reported_not_raised():
    script = {"m1": [HttpFailure(503)] * 10}
    sleeps: list[float] = []
    result = fetch_in_batches(["m0", "m1"], FakeBatches(script), Backoff(max_retries=2), sleeps.append, lambda: 0.0)
    assert set(result.messages) == {"m0"}
    assert isinstance(result.failed["m1"], port.TransientError)
    assert sleeps == [1, 2]


def test_duplicate_ids_are_fetched_once():
    run = FakeBatches()
    result = fetch_in_batches(["a", "b", "a"], run, Backoff(), lambda s: None, lambda: 0.5)
    assert run.sizes == [2] and set(result.messages) == {"a", "b"}
