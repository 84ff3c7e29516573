"""The real googleapiclient, through GoogleGmail, against the Gmail sandbox over loopback."""
from __future__ import annotations

import itertools
import socket

import pytest

from connector.gmail import port
from connector.gmail.google import GoogleGmail

from .conftest import ALICE, SALES, SUPPORT, method_calls, sandbox_post

_serial = itertools.count(1)


def mail(subject: str, message_id: str | None = None, sender: str = "client@example.org") -> bytes:
    message_id = message_id or f"<m{next(_serial)}.{subject.replace(' ', '-')}@example.org>"
    return (f"From: Client <{sender}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nHello\r\n").encode()


def deliver(sandbox, count: int, subject: str) -> list[str]:
    return [sandbox.core.deliver(SUPPORT, mail(f"{subject} {n}")) for n in range(count)]


def test_profile_names_the_mailbox_and_its_cursor(support):
    profile = support.gmail.profile()
    assert profile.email == SUPPORT and int(profile.history_id) > 0
    assert support.calls == ["getProfile"]


def test_listing_and_history_follow_page_tokens_past_500(sandbox, support):
    cursor = support.gmail.profile().history_id
    ids = deliver(sandbox, 510, "pagination")
    before = method_calls(sandbox, SUPPORT, "messages.list")
    listed = support.gmail.list_message_ids(query="subject:pagination")
    assert sorted(listed) == sorted(ids)
    assert method_calls(sandbox, SUPPORT, "messages.list") - before == 2
    assert support.gmail.list_message_ids(query="subject:pagination", limit=7) == listed[:7]
    before = method_calls(sandbox, SUPPORT, "history.list")
    assert set(support.gmail.history_since(cursor).added_message_ids) == set(ids)
    assert method_calls(sandbox, SUPPORT, "history.list") - before >= 2


def spy_on_requests(monkeypatch, adapter) -> list[str]:
    """Record every URI the adapter's own connection sends to (batch envelopes included)."""
    transport, uris = adapter.gmail._http.http, []
    original = transport.request

    def request(uri, method="GET", *args, **kwargs):
        uris.append(uri)
        return original(uri, method, *args, **kwargs)

    monkeypatch.setattr(transport, "request", request)
    return uris


def test_fetch_raw_batches_120_messages_into_three_batches(sandbox, support, monkeypatch):
    ids = deliver(sandbox, 120, "batched")
    before = method_calls(sandbox, SUPPORT, "messages.get")
    uris = spy_on_requests(monkeypatch, support)
    result = support.gmail.fetch_raw(ids + ["0000000000000bad"])
    assert set(result.messages) == set(ids) and result.missing == ("0000000000000bad",)
    assert b"\r\nSubject: batched 0\r\n" in result.messages[ids[0]].raw
    assert "INBOX" in result.messages[ids[0]].label_ids
    assert method_calls(sandbox, SUPPORT, "messages.get") - before == 121
    assert support.calls.count("messages.get") == 121
    assert all(uri.startswith(sandbox.url + "/") for uri in uris)   # the token refresh too: never Google
    assert [uri for uri in uris if "/batch/" in uri] == [f"{sandbox.url}/batch/gmail/v1"] * 3   # 50 + 50 + 21


def test_history_since_reports_added_and_deleted_messages(sandbox, support):
    cursor = support.gmail.profile().history_id
    first, second = deliver(sandbox, 2, "history")
    sandbox.core.mailbox(SUPPORT).delete(first)
    delta = support.gmail.history_since(cursor)
    assert {first, second} <= set(delta.added_message_ids)
    assert first in delta.deleted_message_ids
    assert int(delta.history_id) > int(cursor)


def test_an_expired_cursor_raises_history_expired(sandbox, support):
    cursor = support.gmail.profile().history_id
    deliver(sandbox, 1, "before expiry")
    sandbox_post(sandbox, "/_sandbox/expire-history", {"mailbox": SUPPORT})
    with pytest.raises(port.HistoryExpired):
        support.gmail.history_since(cursor)


def test_two_503s_are_retried_with_backoff_then_succeed(sandbox, support):
    sandbox_post(sandbox, "/_sandbox/faults", {"method": "getProfile", "status": 503, "times": 2})
    assert support.gmail.profile().email == SUPPORT
    assert support.sleeps == [1.5, 2.5]           # Google's backoff with rng=0.5: 1 + 0.5, 2 + 0.5
    assert support.calls == ["getProfile"] * 3


def test_a_hintless_403_user_rate_limit_backs_off_on_googles_schedule_then_succeeds(sandbox, support):
    # Gmail's per-user limit as a 403 userRateLimitExceeded with neither Retry-After nor a "Retry after"
    # time (the quota page's error code for the per-user limit): the waits are Google's 1, 2, 4 s + jitter.
    sandbox_post(sandbox, "/_sandbox/faults", {"method": "labels.list", "status": 403,
                                               "reason": "userRateLimitExceeded", "times": 3})
    assert support.gmail.labels()
    assert support.sleeps == [1.5, 2.5, 4.5]
    assert support.calls.count("labels.list") == 4


def test_a_403_user_rate_limit_that_persists_becomes_rate_limited_without_a_retry_time(sandbox, adapters):
    adapter = adapters(max_retries=3)
    sandbox_post(sandbox, "/_sandbox/faults", {"method": "labels.list", "status": 403,
                                               "reason": "userRateLimitExceeded", "times": 4})
    with pytest.raises(port.RateLimited) as caught:
        adapter.gmail.labels()
    assert caught.value.retry_after is None      # the inbox's own backoff decides when to come back
    assert adapter.sleeps == [1.5, 2.5, 4.5]


def test_persistent_503_becomes_transient_error_after_max_retries(sandbox, adapters):
    adapter = adapters(max_retries=2)
    sandbox_post(sandbox, "/_sandbox/faults", {"method": "labels.list", "status": 503, "times": 3})
    with pytest.raises(port.TransientError) as caught:
        adapter.gmail.labels()
    assert "labels.list" in str(caught.value) and "503" in str(caught.value)
    assert len(adapter.sleeps) == 2


def test_batch_parts_that_fail_are_retried_in_a_follow_up_batch(sandbox, support):
    ids = deliver(sandbox, 5, "part retry")
    sandbox_post(sandbox, "/_sandbox/faults", {"method": "messages.get", "status": 503, "times": 2})
    result = support.gmail.fetch_raw(ids)
    assert set(result.messages) == set(ids) and not result.failed
    assert support.sleeps and support.calls.count("messages.get") == 7


def test_the_forwarding_rules_limit_is_not_waited_out_inside_the_call(sandbox, support):
    # Its "Retry after" (a minute here) is unreliable: no in-call sleep, the job reschedules.
    sandbox_post(sandbox, "/_sandbox/faults", {"method": "settings.filters.create", "reason": "forwardingRulesLimit"})
    with pytest.raises(port.ForwardingRulesLimited) as caught:
        support.gmail.create_filter({"query": "deliveredto:x@masociete.com"}, {"forward": "x@helpdesk.example.com"})
    assert support.sleeps == [] and 0 < caught.value.retry_after <= 61


def test_the_sending_limit_fault_answers_like_the_daily_cap(sandbox, support):
    sandbox_post(sandbox, "/_sandbox/faults", {"method": "messages.send", "reason": "mailSendingLimit"})
    with pytest.raises(port.SendingLimitExceeded) as caught:
        support.gmail.send(mail("capped by a fault"))
    assert caught.value.retry_after > 3600 and support.sleeps == []


def test_the_sending_cap_is_reported_with_the_servers_retry_after(sandbox, adapters):
    sales = adapters(SALES)
    sandbox.core.record_sends(SALES, 100_000)
    with pytest.raises(port.SendingLimitExceeded) as caught:
        sales.gmail.send(mail("capped", sender=SALES))
    assert caught.value.retry_after and caught.value.retry_after > 3600
    assert sales.sleeps == []                   # a wait of hours is the scheduler's job, not a sleep


def test_ensure_label_is_idempotent_across_adapters(adapters, support):
    first = support.gmail.ensure_label("Helpdesk/Imported")
    again = support.gmail.ensure_label("Helpdesk/Imported")
    fresh = adapters().gmail.ensure_label("Helpdesk/Imported")
    assert first == again == fresh and first.type == "user"
    assert [lb.name for lb in support.gmail.labels()].count("Helpdesk/Imported") == 1
    assert support.calls.count("labels.create") == 1


def test_modify_labels_adds_and_removes(sandbox, support):
    (mid,) = deliver(sandbox, 1, "labelled")
    label = support.gmail.ensure_label("Helpdesk/Done")
    support.gmail.modify_labels([mid], add=[label.id], remove=["INBOX"])
    labels = support.gmail.fetch_raw([mid]).messages[mid].label_ids
    assert label.id in labels and "INBOX" not in labels


def test_find_by_message_id_accepts_angle_brackets(sandbox, support):
    mid = sandbox.core.deliver(SUPPORT, mail("lookup", message_id="<lookup-42@example.org>"))
    assert support.gmail.find_by_message_id("<lookup-42@example.org>") == [mid]
    assert support.gmail.find_by_message_id("lookup-42@example.org") == [mid]
    assert support.gmail.find_by_message_id("<nobody@example.org>") == []


def test_send_posts_json_and_threads_the_reply(sandbox, support):
    (incoming,) = deliver(sandbox, 1, "needs reply")
    thread = support.gmail.fetch_raw([incoming]).messages[incoming].thread_id
    reply = (f"From: {SUPPORT}\r\nTo: client@example.org\r\nSubject: Re: needs reply 0\r\n\r\nOn it.\r\n").encode()
    sent = support.gmail.send(reply, thread_id=thread)
    assert sent.thread_id == thread and "SENT" in sent.label_ids
    stored = support.gmail.fetch_raw([sent.id]).messages[sent.id]
    assert b"On it." in stored.raw


def test_an_unknown_label_is_an_invalid_request(support):
    with pytest.raises(port.InvalidRequest):
        support.gmail.modify_labels(["0000000000000bad"], add=["NO_SUCH_LABEL"])


def test_revoked_consent_raises_auth_revoked_without_leaking_tokens(sandbox, adapters):
    adapter = adapters(ALICE)
    credentials = adapter.gmail._http.credentials
    assert adapter.gmail.profile().email == ALICE
    sandbox_post(sandbox, "/_sandbox/revoke", {"mailbox": ALICE})
    with pytest.raises(port.AuthRevoked) as caught:
        adapter.gmail.profile()
    assert "consent" in str(caught.value).lower()
    assert credentials.refresh_token not in str(caught.value)


def test_an_unreachable_gmail_is_a_transient_error_after_retries(sandbox, adapters):
    with socket.socket() as probe:             # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    adapter = adapters(max_retries=2)
    adapter.gmail.profile()                    # refresh the token while the token endpoint is there
    with GoogleGmail(adapter.gmail._http.credentials, dead, sleep=adapter.sleeps.append, rng=lambda: 0.5,
                     max_retries=2) as gmail:
        with pytest.raises(port.TransientError) as caught:
            gmail.labels()
    assert "labels.list" in str(caught.value) and "network" in str(caught.value)
    assert adapter.sleeps == [1.5, 2.5]


def test_ensure_label_takes_the_label_another_worker_created_first(sandbox, adapters, monkeypatch):
    racer, rival = adapters(), adapters()
    racer.gmail.labels()                               # racer's cache: no "Helpdesk/Race" yet
    transport = racer.gmail._http.http
    original = transport.request

    def request(uri, method="GET", *args, **kwargs):
        if method == "POST" and uri.split("?")[0].endswith("/labels"):
            rival.gmail.ensure_label("Helpdesk/Race")  # lands between racer's list and its create
        return original(uri, method, *args, **kwargs)

    monkeypatch.setattr(transport, "request", request)
    label = racer.gmail.ensure_label("Helpdesk/Race")
    assert label == rival.gmail.ensure_label("Helpdesk/Race")
    assert racer.calls.count("labels.create") == 1 and racer.calls.count("labels.list") == 3
