"""History as a sync cursor (including expiry) and Google's batch endpoint, through the real client."""
from __future__ import annotations

import json
import urllib.request

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from sandbox_world import SUPPORT, mail


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def test_history_reports_additions_label_changes_and_deletions(sandbox, gmail):
    users = gmail.users()
    cursor = users.getProfile(userId="me").execute()["historyId"]
    mid = sandbox.core.deliver(SUPPORT, mail())
    users.messages().modify(userId="me", id=mid, body={"removeLabelIds": ["UNREAD"]}).execute()
    users.messages().delete(userId="me", id=mid).execute()
    answer = users.history().list(userId="me", startHistoryId=cursor).execute()
    kinds = [next(k for k in record if k not in ("id", "messages")) for record in answer["history"]]
    assert kinds == ["messagesAdded", "labelsRemoved", "messagesDeleted"]
    assert answer["history"][1]["labelsRemoved"][0]["labelIds"] == ["UNREAD"]
    assert all(record["messages"] == [{"id": mid, "threadId": mid}] for record in answer["history"])
    ids = [int(record["id"]) for record in answer["history"]]
    assert ids == sorted(ids) and ids[0] > int(cursor)
    assert answer["historyId"] == users.getProfile(userId="me").execute()["historyId"]
    only_added = users.history().list(userId="me", startHistoryId=cursor, historyTypes="messageAdded").execute()
    assert len(only_added["history"]) == 1


def test_history_pages_and_always_carries_current_id(sandbox, gmail):
    cursor = gmail.users().getProfile(userId="me").execute()["historyId"]
    for i in range(5):
        sandbox.core.deliver(SUPPORT, mail(subject=f"h{i}"))
    first = gmail.users().history().list(userId="me", startHistoryId=cursor, maxResults=3).execute()
    second = gmail.users().history().list(userId="me", startHistoryId=cursor, maxResults=3,
                                          pageToken=first["nextPageToken"]).execute()
    assert len(first["history"]) == 3 and len(second["history"]) == 2 and "nextPageToken" not in second
    empty = gmail.users().history().list(userId="me", startHistoryId=first["historyId"]).execute()
    assert "history" not in empty and empty["historyId"] == first["historyId"]


def test_expired_history_cursor_is_404(sandbox, gmail):
    cursor = gmail.users().getProfile(userId="me").execute()["historyId"]
    sandbox.core.deliver(SUPPORT, mail())
    _post(sandbox.url + "/_sandbox/expire-history", {"mailbox": SUPPORT})
    with pytest.raises(HttpError) as caught:
        gmail.users().history().list(userId="me", startHistoryId=cursor).execute()
    assert caught.value.resp.status == 404


def test_batch_get_answers_each_part_and_counts_quota_per_part(sandbox, gmail):
    ids = [sandbox.core.deliver(SUPPORT, mail(subject=f"b{i}")) for i in range(3)]
    answers, errors = {}, {}

    def collect(request_id, response, exception):
        (errors if exception else answers)[request_id] = exception or response

    gmail.users().getProfile(userId="me").execute()   # a batch refreshing by itself leaks a socket
    batch = BatchHttpRequest(callback=collect, batch_uri=sandbox.url + "/batch/gmail/v1")
    for mid in ids + ["0000000000000000"]:
        batch.add(gmail.users().messages().get(userId="me", id=mid, format="raw"), request_id=mid)
    batch.execute()
    assert set(answers) == set(ids) and all(answers[m]["id"] == m for m in ids)
    assert errors["0000000000000000"].resp.status == 404
    calls = sandbox.core.stats()["mailboxes"][SUPPORT]["calls"]
    assert calls["messages.get"] == 4


def test_batch_with_more_than_100_parts_is_refused(sandbox, gmail):
    gmail.users().getProfile(userId="me").execute()
    batch = BatchHttpRequest(batch_uri=sandbox.url + "/batch/gmail/v1")
    batch._order = [str(i) for i in range(101)]   # the client itself refuses to add a 101st part
    batch._requests = {str(i): gmail.users().getProfile(userId="me") for i in range(101)}
    batch._callbacks = {str(i): None for i in range(101)}
    with pytest.raises(HttpError) as caught:
        batch.execute()
    assert caught.value.resp.status == 400
