"""Quota exhaustion, injected faults and the /_sandbox control endpoints, as a client experiences them."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from googleapiclient.errors import HttpError

from sandbox_world import SUPPORT, b64, mail
from sandbox.quota import QuotaMeter


def _call(url: str, payload: dict | None = None, method: str = "POST") -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def test_exhausted_quota_is_429_with_retry_after_and_googles_body(sandbox, gmail):
    sandbox.core.quota.charge(SUPPORT, "messages.get", units=15_000 - 1)
    with pytest.raises(HttpError) as caught:
        gmail.users().messages().list(userId="me").execute()
    error = json.loads(caught.value.content)["error"]
    assert caught.value.resp.status == 429
    assert error["status"] == "RESOURCE_EXHAUSTED" and error["errors"][0]["reason"] == "rateLimitExceeded"
    assert 1 <= int(caught.value.resp["retry-after"]) <= 60
    gmail.users().getProfile(userId="me").execute()       # 1 unit still fits


def test_the_next_refusal_is_gmails_other_answer_a_403_without_any_retry_time(sandbox, gmail):
    sandbox.core.quota.charge(SUPPORT, "messages.get", units=15_000 - 1)
    answers = []
    for _ in range(2):
        with pytest.raises(HttpError) as caught:
            gmail.users().messages().list(userId="me").execute()
        answers.append((caught.value.resp.status, json.loads(caught.value.content)["error"], caught.value.resp))
    (first, _, first_resp), (second, body, resp) = answers
    assert {first, second} == {429, 403}
    refused_403 = body if second == 403 else answers[0][1]
    headers_403 = resp if second == 403 else first_resp
    assert refused_403["errors"][0]["reason"] == "userRateLimitExceeded"
    assert refused_403["errors"][0]["domain"] == "usageLimits" and "Retry after" not in refused_403["message"]
    assert "retry-after" not in headers_403


def test_tiers_price_messages_get_differently_and_off_still_counts():
    assert QuotaMeter("legacy").cost("messages.get") == 5
    assert QuotaMeter("2026").cost("messages.get") == 20 and QuotaMeter("2026").limit == 6000
    meter = QuotaMeter("off")
    for _ in range(4):
        meter.charge("a@b.c", "messages.send", units=10_000)
    assert meter.totals["a@b.c"] == 40_000 and meter.last_minute("a@b.c") == 40_000


def test_2026_tier_prices_a_whole_thread_at_40_units_and_legacy_keeps_10():
    assert QuotaMeter("2026").cost("threads.get") == 40
    assert QuotaMeter("legacy").cost("threads.get") == 10


def test_sliding_window_frees_units_after_a_minute():
    now = [1000.0]
    meter = QuotaMeter("legacy", clock=lambda: now[0])
    meter.charge("u", "x", units=15_000)
    with pytest.raises(Exception):
        meter.charge("u", "getProfile")
    now[0] += 60.5
    meter.charge("u", "getProfile")
    assert meter.last_minute("u") == 1


def test_stats_count_units_and_calls(sandbox, gmail):
    sandbox.core.deliver(SUPPORT, mail())
    gmail.users().messages().list(userId="me").execute()
    gmail.users().getProfile(userId="me").execute()
    stats = _call(sandbox.url + "/_sandbox/stats", method="GET")
    mine = stats["mailboxes"][SUPPORT]
    assert stats["tier"] == "legacy"
    assert mine["calls"] == {"messages.list": 1, "getProfile": 1} and mine["units_total"] == 6
    assert mine["units_last_minute"] == 6 and mine["messages"] == 1 and mine["history_id"].isdigit()


def test_injected_fault_fails_given_times_then_clears(sandbox, gmail):
    _call(sandbox.url + "/_sandbox/faults", {"method": "messages.list", "status": 503, "times": 2})
    for _ in range(2):
        with pytest.raises(HttpError) as caught:
            gmail.users().messages().list(userId="me").execute()
        assert caught.value.resp.status == 503
    gmail.users().messages().list(userId="me").execute()
    _call(sandbox.url + "/_sandbox/faults", {"method": "getProfile", "status": 500, "rate": 1.0})
    with pytest.raises(HttpError):
        gmail.users().getProfile(userId="me").execute()
    _call(sandbox.url + "/_sandbox/faults", method="DELETE")
    gmail.users().getProfile(userId="me").execute()


def test_client_retries_through_a_transient_fault(sandbox, gmail):
    _call(sandbox.url + "/_sandbox/faults", {"method": "getProfile", "status": 503, "times": 1})
    request = gmail.users().getProfile(userId="me")
    request._sleep = lambda seconds: None
    assert request.execute(num_retries=2)["emailAddress"] == SUPPORT


def test_deliver_and_mailbox_controls(sandbox, connect):
    _call(sandbox.url + "/_sandbox/mailboxes", {"address": "carol@masociete.com"})
    sandbox.write_authorized_user("carol@masociete.com")
    answer = _call(sandbox.url + "/_sandbox/deliver", {"to": "carol@masociete.com", "raw": b64(mail())})
    carol = connect("carol@masociete.com")
    assert carol.users().messages().list(userId="me").execute()["messages"][0]["id"] == answer["id"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        _call(sandbox.url + "/_sandbox/deliver", {"to": "nobody@masociete.com", "raw": b64(mail())})
    assert caught.value.code == 404
    caught.value.close()


def test_injected_latency_slows_only_the_chosen_method(sandbox, gmail):
    import time
    gmail.users().getProfile(userId="me").execute()
    _call(sandbox.url + "/_sandbox/faults", {"method": "labels.list", "latency_ms": 200, "mailbox": SUPPORT})
    started = time.monotonic()
    gmail.users().labels().list(userId="me").execute()
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    gmail.users().getProfile(userId="me").execute()
    assert time.monotonic() - started < 0.2


def test_media_upload_send_path_is_accepted(sandbox):
    oauth = sandbox.core.oauth
    refresh = oauth.issue_refresh_token(SUPPORT, ["https://mail.google.com/"])
    token = oauth.token({"grant_type": "refresh_token", "refresh_token": refresh, "client_id": oauth.client_id,
                         "client_secret": oauth.client_secret})["access_token"]
    request = urllib.request.Request(
        sandbox.url + "/upload/gmail/v1/users/me/messages/send?uploadType=media",
        mail(to="someone@example.org"), {"Content-Type": "message/rfc822", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        sent = json.loads(answer.read())
    assert sent["labelIds"] == ["SENT"]
    assert sandbox.core.sent[-1]["to"] == "someone@example.org" and sandbox.core.sent[-1]["status"] == "no-route"


@pytest.mark.parametrize("reason, status, state, words", [
    ("failedPrecondition", 400, "FAILED_PRECONDITION", "Precondition check failed."),
    ("userRateLimitExceeded", 403, "PERMISSION_DENIED", "Quota exceeded for quota metric"),
    ("backendError", 500, "UNKNOWN", "Backend Error")])
def test_a_fault_by_reason_answers_googles_body_for_it(sandbox, gmail, reason, status, state, words):
    _call(sandbox.url + "/_sandbox/faults", {"method": "messages.list", "reason": reason, "times": 1})
    with pytest.raises(HttpError) as caught:
        gmail.users().messages().list(userId="me").execute()
    error = json.loads(caught.value.content)["error"]
    assert (caught.value.resp.status, error["status"], error["errors"][0]["reason"]) == (status, state, reason)
    assert words in error["message"] and "retry-after" not in caught.value.resp, "no retry hint"
    gmail.users().messages().list(userId="me").execute()


def test_batch_parts_obey_a_fault_by_reason_and_an_unknown_reason_is_refused(sandbox, gmail):
    first = {"id": sandbox.core.deliver(SUPPORT, mail())}
    _call(sandbox.url + "/_sandbox/faults", {"method": "messages.get", "reason": "failedPrecondition", "times": 1})
    from googleapiclient.http import BatchHttpRequest
    answers = {}
    gmail.users().getProfile(userId="me").execute()   # a batch refreshing by itself leaks a socket
    batch = BatchHttpRequest(callback=lambda rid, response, exc: answers.update({rid: exc}),
                             batch_uri=sandbox.url + "/batch/gmail/v1")
    for rid in ("a", "b"):
        batch.add(gmail.users().messages().get(userId="me", id=first["id"], format="raw"), request_id=rid)
    batch.execute()
    assert answers["a"].resp.status == 400 and answers["b"] is None
    with pytest.raises(urllib.error.HTTPError) as caught:
        _call(sandbox.url + "/_sandbox/faults", {"method": "messages.get", "reason": "moodSwing"})
    assert caught.value.code == 400
    caught.value.close()
