"""A helpdesk agent drafts, sends, and files whole conversations through the real Google client."""
from __future__ import annotations

import base64
import json
import urllib.request

import jsonschema
import pytest
from googleapiclient.errors import HttpError

from sandbox_world import ALICE, HELPDESK_DOMAIN, SUPPORT, b64, mail
from sandbox.quota import QuotaMeter
from test_sandbox_schema import ERROR_SCHEMA, _convert
from sandbox import routes

NOT_FOUND = [{"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}]
CUSTOMER = f"customer@{HELPDESK_DOMAIN}"


def _draft_body(**fields) -> dict:
    return {"message": {"raw": b64(mail(sender=SUPPORT, to=CUSTOMER, **fields))}}


def _status(request) -> tuple[int, list]:
    with pytest.raises(HttpError) as caught:
        request.execute()
    return caught.value.resp.status, caught.value.error_details


def test_a_draft_is_written_reread_revised_and_discarded(sandbox, gmail):
    drafts = gmail.users().drafts()
    made = drafts.create(userId="me", body=_draft_body(subject="Your refund", body="Draft one")).execute()
    assert made["id"].startswith("r") and made["message"]["labelIds"] == ["DRAFT"]
    raw = drafts.get(userId="me", id=made["id"], format="raw").execute()["message"]["raw"]
    assert b"Draft one" in base64.urlsafe_b64decode(raw)
    minimal = drafts.get(userId="me", id=made["id"], format="minimal").execute()["message"]
    assert "payload" not in minimal and "raw" not in minimal
    full = drafts.get(userId="me", id=made["id"]).execute()["message"]
    assert {"name": "Subject", "value": "Your refund"} in full["payload"]["headers"]
    revised = drafts.update(userId="me", id=made["id"], body=_draft_body(subject="Your refund", body="Two")).execute()
    assert revised["id"] == made["id"] and revised["message"]["id"] != made["message"]["id"]
    assert _status(gmail.users().messages().get(userId="me", id=made["message"]["id"])) == (404, NOT_FOUND)
    assert drafts.list(userId="me").execute()["drafts"] == [
        {"id": made["id"], "message": {"id": revised["message"]["id"], "threadId": revised["message"]["threadId"]}}]
    drafts.delete(userId="me", id=made["id"]).execute()
    assert _status(drafts.get(userId="me", id=made["id"])) == (404, NOT_FOUND)
    assert drafts.list(userId="me").execute() == {"resultSizeEstimate": 0}


def test_drafts_list_filters_pages_and_hides_trash(gmail):
    drafts, messages = gmail.users().drafts(), gmail.users().messages()
    made = [drafts.create(userId="me", body=_draft_body(subject=f"Case {n}")).execute() for n in range(3)]
    assert drafts.list(userId="me", q="subject:\"Case 1\"").execute()["drafts"][0]["id"] == made[1]["id"]
    first = drafts.list(userId="me", maxResults=2).execute()
    rest = drafts.list(userId="me", maxResults=2, pageToken=first["nextPageToken"]).execute()
    assert [d["id"] for d in first["drafts"] + rest["drafts"]] == [d["id"] for d in reversed(made)]
    messages.trash(userId="me", id=made[0]["message"]["id"]).execute()
    assert drafts.list(userId="me").execute()["resultSizeEstimate"] == 2
    assert drafts.list(userId="me", includeSpamTrash=True).execute()["resultSizeEstimate"] == 3


def test_sending_a_reply_draft_delivers_it_in_its_thread_and_removes_the_draft(sandbox, gmail, smtp_sink):
    asked = sandbox.core.deliver(SUPPORT, mail(subject="Refund?", sender=CUSTOMER, msgid="<ask@helpdesk.example.com>"))
    body = _draft_body(subject="Re: Refund?", in_reply_to="<ask@helpdesk.example.com>", body="Done.")
    body["message"]["threadId"] = asked
    made = gmail.users().drafts().create(userId="me", body=body).execute()
    assert made["message"]["threadId"] == asked
    sent = gmail.users().drafts().send(userId="me", body={"id": made["id"]}).execute()
    assert sent["labelIds"] == ["SENT"] and sent["threadId"] == asked
    assert _status(gmail.users().drafts().get(userId="me", id=made["id"])) == (404, NOT_FOUND)
    thread = gmail.users().threads().get(userId="me", id=asked, format="minimal").execute()
    assert [m["id"] for m in thread["messages"]] == [asked, sent["id"]]
    assert b"Done." in smtp_sink.envelopes[-1].content and sandbox.core.sent[-1]["id"] == sent["id"]


def _upload(sandbox, method: str, path: str, medium: bytes, metadata: dict | None = None) -> dict:
    """A raw upload call: googleapiclient keeps https:// for upload URLs even when api_endpoint is http."""
    oauth = sandbox.core.oauth
    refresh = oauth.issue_refresh_token(SUPPORT, ["https://mail.google.com/"])
    token = oauth.token({"grant_type": "refresh_token", "refresh_token": refresh, "client_id": oauth.client_id,
                         "client_secret": oauth.client_secret})["access_token"]
    kind, body = "media", medium
    content_type = "message/rfc822"
    if metadata is not None:
        kind, content_type = "multipart", "multipart/related; boundary=cut"
        body = (b"--cut\r\nContent-Type: application/json\r\n\r\n" + json.dumps(metadata).encode() +
                b"\r\n--cut\r\nContent-Type: message/rfc822\r\n\r\n" + medium + b"\r\n--cut--\r\n")
    request = urllib.request.Request(f"{sandbox.url}/upload/gmail/v1/users/me/{path}?uploadType={kind}", body,
                                     {"Content-Type": content_type, "Authorization": f"Bearer {token}"},
                                     method=method)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def test_drafts_travel_as_media_uploads_too(sandbox, gmail, connect):
    def medium(text: str) -> bytes:
        return mail(sender=SUPPORT, to=ALICE, subject="Upload", body=text)
    made = _upload(sandbox, "POST", "drafts", medium("first"))
    _upload(sandbox, "PUT", f"drafts/{made['id']}", medium("second"))
    assert b"second" in base64.urlsafe_b64decode(
        gmail.users().drafts().get(userId="me", id=made["id"], format="raw").execute()["message"]["raw"])
    sent = _upload(sandbox, "POST", "drafts/send", medium("final"), metadata={"id": made["id"]})
    got = gmail.users().messages().get(userId="me", id=sent["id"], format="raw").execute()
    assert base64.urlsafe_b64decode(got["raw"]).rstrip().endswith(b"final")
    inbox = connect(ALICE).users().messages().list(userId="me", q="subject:upload").execute()
    assert inbox["resultSizeEstimate"] == 1


def test_bad_draft_calls_get_googles_errors(gmail):
    drafts = gmail.users().drafts()
    for call in (drafts.get(userId="me", id="r123"), drafts.delete(userId="me", id="r123"),
                 drafts.update(userId="me", id="r123", body=_draft_body()),
                 drafts.send(userId="me", body={"id": "r123"})):
        assert _status(call) == (404, NOT_FOUND)
    assert _status(drafts.create(userId="me", body={}))[1][0]["message"] == "Missing draft message"
    for bad in ({"message": {"raw": "%%%"}}, {"message": "raw"}, {"message": {"threadId": "1"}}):
        assert _status(drafts.create(userId="me", body=bad))[0] == 400
    assert _status(drafts.send(userId="me", body={}))[0] == 400


def _conversation(sandbox) -> tuple[str, str]:
    first = sandbox.core.deliver(SUPPORT, mail(subject="Login", msgid="<l1@example.com>"))
    second = sandbox.core.deliver(SUPPORT, mail(subject="Re: Login", in_reply_to="<l1@example.com>"))
    return first, second


def test_a_whole_conversation_is_labelled_trashed_and_restored_with_history(sandbox, gmail):
    first, second = _conversation(sandbox)
    threads = gmail.users().threads()
    cursor = gmail.users().getProfile(userId="me").execute()["historyId"]
    done = threads.modify(userId="me", id=first, body={"addLabelIds": ["STARRED"],
                                                       "removeLabelIds": ["UNREAD"]}).execute()
    assert [m["id"] for m in done["messages"]] == [first, second]
    assert all("STARRED" in m["labelIds"] and "UNREAD" not in m["labelIds"] for m in done["messages"])
    history = gmail.users().history().list(userId="me", startHistoryId=cursor).execute()["history"]
    assert sorted((h["messages"][0]["id"], next(k for k in h if k.startswith("labels"))) for h in history) == \
        sorted([(first, "labelsAdded"), (second, "labelsAdded"), (first, "labelsRemoved"),
                (second, "labelsRemoved")])
    trashed = threads.trash(userId="me", id=first).execute()
    assert all("TRASH" in m["labelIds"] and "INBOX" not in m["labelIds"] for m in trashed["messages"])
    restored = threads.untrash(userId="me", id=first).execute()
    assert all("INBOX" in m["labelIds"] and "TRASH" not in m["labelIds"] for m in restored["messages"])
    assert _status(threads.modify(userId="me", id=first, body={"addLabelIds": ["Label_404"]}))[0] == 400
    assert _status(threads.trash(userId="me", id="0000000000000000")) == (404, NOT_FOUND)


def test_deleting_threads_and_batches_is_permanent_and_needs_full_access(sandbox, gmail, connect):
    first, second = _conversation(sandbox)
    modify_only = connect(SUPPORT, scopes=["https://www.googleapis.com/auth/gmail.modify"])
    assert _status(modify_only.users().threads().delete(userId="me", id=first))[0] == 403
    gmail.users().threads().delete(userId="me", id=first).execute()
    assert _status(gmail.users().threads().get(userId="me", id=first)) == (404, NOT_FOUND)
    kept = sandbox.core.deliver(SUPPORT, mail(subject="Keep"))
    gone = [sandbox.core.deliver(SUPPORT, mail(subject=f"Spam {n}")) for n in range(2)]
    gmail.users().messages().batchDelete(userId="me", body={"ids": gone + ["0000000000000000"]}).execute()
    assert set(sandbox.core.mailbox(SUPPORT).messages) == {kept}
    assert _status(gmail.users().messages().batchDelete(userId="me", body={"ids": [kept] * 1001}))[0] == 400


def test_new_methods_cost_googles_units():
    meter = QuotaMeter("legacy")
    units = {name: meter.cost(name) for name in ("drafts.create", "drafts.update", "drafts.get", "drafts.list",
                                                  "drafts.delete", "drafts.send", "threads.modify", "threads.trash",
                                                  "threads.untrash", "threads.delete", "messages.batchDelete")}
    assert units == {"drafts.create": 10, "drafts.update": 15, "drafts.get": 5, "drafts.list": 5,
                     "drafts.delete": 10, "drafts.send": 100, "threads.modify": 10, "threads.trash": 10,
                     "threads.untrash": 10, "threads.delete": 20, "messages.batchDelete": 50}


def test_every_new_body_matches_its_discovery_schema(sandbox, gmail):
    recorded = []
    sandbox.app.observers.append(lambda name, r: recorded.append((name, r.status, r.body)))
    first, _ = _conversation(sandbox)
    users = gmail.users()
    made = users.drafts().create(userId="me", body=_draft_body()).execute()
    users.drafts().update(userId="me", id=made["id"], body=_draft_body(body="v2")).execute()
    users.drafts().list(userId="me").execute()
    for fmt in ("minimal", "metadata", "full", "raw"):
        users.drafts().get(userId="me", id=made["id"], format=fmt).execute()
    users.drafts().send(userId="me", body={"id": made["id"]}).execute()
    users.threads().modify(userId="me", id=first, body={"addLabelIds": ["STARRED"]}).execute()
    users.threads().trash(userId="me", id=first).execute()
    users.threads().untrash(userId="me", id=first).execute()
    _status(users.drafts().get(userId="me", id="r1"))
    doc = routes.discovery_document()
    definitions = {name: _convert(schema) for name, schema in doc["schemas"].items()}
    methods = {**doc["resources"]["users"]["resources"]["drafts"]["methods"],
               **{f"t.{k}": v for k, v in doc["resources"]["users"]["resources"]["threads"]["methods"].items()}}
    schemas = {m["id"].removeprefix("gmail.users."): {"$ref": f"#/definitions/{m['response']['$ref']}",
                                                       "definitions": definitions}
               for m in methods.values() if "response" in m}
    checked = set()
    for name, status, body in recorded:
        if body and (status >= 400 or name in schemas):
            jsonschema.validate(json.loads(body), ERROR_SCHEMA if status >= 400 else schemas[name])
            checked.add(name if status < 400 else "error")
    assert {"drafts.create", "drafts.update", "drafts.list", "drafts.get", "drafts.send", "threads.modify",
            "threads.trash", "threads.untrash", "error"} <= checked
