"""The `fields` parameter: every Gmail method answers only what the partial-response mask selects."""
from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from sandbox import partial
from sandbox_world import SUPPORT, mail


def test_mask_syntax_paths_sub_selections_and_wildcards():
    assert partial.parse("a/b,a(c,d/e),f") == {"a": {"b": None, "c": None, "d": {"e": None}}, "f": None}
    assert partial.parse("a, a/b") == {"a": None} and partial.parse("*") == {"*": None}
    body = {"a": [{"b": 1, "c": 2, "x": 3}, {"x": 4}], "f": {"g": 5}, "z": 6}
    assert partial.apply(body, partial.parse("a(b,c),f")) == {"a": [{"b": 1, "c": 2}, {}], "f": {"g": 5}}
    assert partial.apply(body, partial.parse("a/*,z")) == {"a": [{"b": 1, "c": 2, "x": 3}, {"x": 4}], "z": 6}
    for broken in ("a(b", "a)", "a//b", ",a", "a(b))"):
        with pytest.raises(Exception, match="Invalid field selection"):
            partial.parse(broken)


def test_messages_list_with_messages_id_returns_ids_only(sandbox, gmail):
    older, newer = sandbox.core.deliver(SUPPORT, mail()), sandbox.core.deliver(SUPPORT, mail(subject="Again"))
    listed = gmail.users().messages().list(userId="me", fields="messages/id").execute()
    assert listed == {"messages": [{"id": newer}, {"id": older}]}


def test_every_method_honours_the_mask(sandbox, gmail):
    mid = sandbox.core.deliver(SUPPORT, mail())
    users = gmail.users()
    assert users.getProfile(userId="me", fields="emailAddress").execute() == {"emailAddress": SUPPORT}
    labels = users.labels().list(userId="me", fields="labels(id,name)").execute()["labels"]
    assert {"id": "INBOX", "name": "INBOX"} in labels and all(set(label) == {"id", "name"} for label in labels)
    got = users.messages().get(userId="me", id=mid, fields="id,payload(mimeType,headers/name)").execute()
    assert set(got) == {"id", "payload"} and set(got["payload"]) == {"mimeType", "headers"}
    assert {"name": "Subject"} in got["payload"]["headers"]
    assert users.messages().get(userId="me", id=mid, fields="*").execute() == \
        users.messages().get(userId="me", id=mid).execute()
    modified = users.messages().modify(userId="me", id=mid, body={"addLabelIds": ["STARRED"]},
                                       fields="labelIds").execute()
    assert list(modified) == ["labelIds"] and "STARRED" in modified["labelIds"]


def test_batch_parts_are_masked_one_by_one(sandbox, gmail):
    mid = sandbox.core.deliver(SUPPORT, mail())
    gmail.users().getProfile(userId="me").execute()     # a batch refreshing by itself leaks a socket
    answers = {}
    batch = BatchHttpRequest(callback=lambda rid, response, exc: answers.update({rid: response}),
                             batch_uri=sandbox.url + "/batch/gmail/v1")
    batch.add(gmail.users().messages().get(userId="me", id=mid, format="raw", fields="id,raw"), request_id="a")
    batch.execute()
    assert set(answers["a"]) == {"id", "raw"}


def test_error_bodies_are_never_masked(gmail):
    with pytest.raises(HttpError) as caught:
        gmail.users().messages().get(userId="me", id="0123456789abcdef", fields="id").execute()
    error = json.loads(caught.value.content)["error"]
    assert error["code"] == 404 and error["errors"][0]["reason"] == "notFound" and error["status"] == "NOT_FOUND"


def test_a_field_the_resource_lacks_or_a_broken_mask_is_a_400(gmail):
    for fields, named in (("messages/nope", "nope"), ("messages(id", "messages(id")):
        with pytest.raises(HttpError) as caught:
            gmail.users().messages().list(userId="me", fields=fields).execute()
        assert caught.value.resp.status == 400 and caught.value.reason == f"Invalid field selection {named}"
