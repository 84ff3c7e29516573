"""A helpdesk mailbox driven through the real Google client: messages, threads, labels, pagination."""
from __future__ import annotations

import base64
from email import message_from_bytes

import pytest
from googleapiclient.errors import HttpError

from sandbox_world import ALICE, SUPPORT, b64, mail
from sandbox.seed import sample_mail


def test_arriving_mail_is_listed_and_fetched_in_every_format(sandbox, gmail):
    raw = mail(msgid="<m1@example.com>")
    mid = sandbox.core.deliver(SUPPORT, raw)
    listed = gmail.users().messages().list(userId="me").execute()
    assert listed["messages"] == [{"id": mid, "threadId": mid}]
    assert listed["resultSizeEstimate"] == 1
    got = gmail.users().messages().get(userId="me", id=mid, format="raw").execute()
    assert base64.urlsafe_b64decode(got["raw"]).endswith(raw)
    assert got["labelIds"] == ["UNREAD", "IMPORTANT", "CATEGORY_PERSONAL", "INBOX"]     # Gmail's order
    assert got["internalDate"].isdigit() and got["historyId"].isdigit()
    meta = gmail.users().messages().get(userId="me", id=mid, format="metadata",
                                        metadataHeaders=["Subject", "From"]).execute()
    assert {h["name"] for h in meta["payload"]["headers"]} == {"Subject", "From"}
    full = gmail.users().messages().get(userId="me", id=mid, format="full").execute()
    assert base64.urlsafe_b64decode(full["payload"]["body"]["data"]) == b"It jams.\n"
    minimal = gmail.users().messages().get(userId="me", id=mid, format="minimal").execute()
    assert "payload" not in minimal and "raw" not in minimal
    assert len(mid) == 16 and int(mid, 16)


def test_unknown_message_is_googles_404(gmail):
    with pytest.raises(HttpError) as caught:
        gmail.users().messages().get(userId="me", id="0123456789abcdef").execute()
    assert caught.value.resp.status == 404
    assert caught.value.error_details == [{"message": "Requested entity was not found.", "domain": "global",
                                           "reason": "notFound"}]


def test_attachment_is_fetched_by_its_id(sandbox, gmail):
    mid = sandbox.core.deliver(SUPPORT, sample_mail("attachment"))
    full = gmail.users().messages().get(userId="me", id=mid).execute()
    part = next(p for p in full["payload"]["parts"] if p["filename"] == "facture-4821.pdf")
    body = gmail.users().messages().attachments().get(userId="me", messageId=mid,
                                                       id=part["body"]["attachmentId"]).execute()
    assert base64.urlsafe_b64decode(body["data"]).startswith(b"%PDF-1.4")
    assert body["size"] == part["body"]["size"]


def test_reply_joins_thread_only_when_subject_matches(sandbox, gmail):
    first = sandbox.core.deliver(SUPPORT, mail(subject="Invoice", msgid="<q1@example.com>"))
    reply = sandbox.core.deliver(SUPPORT, mail(subject="RE: AW: Invoice", in_reply_to="<q1@example.com>"))
    other = sandbox.core.deliver(SUPPORT, mail(subject="Something else", in_reply_to="<q1@example.com>"))
    box = sandbox.core.mailbox(SUPPORT)
    assert box.messages[reply].thread_id == first
    assert box.messages[other].thread_id == other
    thread = gmail.users().threads().get(userId="me", id=first, format="minimal").execute()
    assert [m["id"] for m in thread["messages"]] == [first, reply]
    threads = gmail.users().threads().list(userId="me").execute()
    assert {t["id"] for t in threads["threads"]} == {first, other}


def test_pagination_walks_every_message_once(sandbox, gmail):
    ids = {sandbox.core.deliver(SUPPORT, mail(subject=f"n{i}"), internal_date_ms=1_700_000_000_000 + i)
           for i in range(7)}
    seen, token, pages = [], None, 0
    while True:
        page = gmail.users().messages().list(userId="me", maxResults=3, pageToken=token).execute()
        seen += [m["id"] for m in page["messages"]]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == ids
    assert seen[0] == max(ids, key=lambda i: sandbox.core.mailbox(SUPPORT).messages[i].internal_date)


def test_labels_modify_trash_untrash_delete(sandbox, gmail):
    users = gmail.users()
    label = users.labels().create(userId="me", body={"name": "Helpdesk/Imported"}).execute()
    with pytest.raises(HttpError) as caught:
        users.labels().create(userId="me", body={"name": "helpdesk/imported"}).execute()
    assert caught.value.resp.status == 409
    mid = sandbox.core.deliver(SUPPORT, mail())
    changed = users.messages().modify(userId="me", id=mid, body={"addLabelIds": [label["id"]],
                                                                 "removeLabelIds": ["UNREAD"]}).execute()
    assert label["id"] in changed["labelIds"] and "UNREAD" not in changed["labelIds"]
    assert users.labels().get(userId="me", id=label["id"]).execute()["messagesTotal"] == 1
    assert [l["id"] for l in users.labels().list(userId="me").execute()["labels"]].count(label["id"]) == 1
    found = users.messages().list(userId="me", q="label:helpdesk-imported is:read").execute()
    assert found["messages"][0]["id"] == mid
    assert "TRASH" in users.messages().trash(userId="me", id=mid).execute()["labelIds"]
    assert users.messages().list(userId="me").execute().get("messages") is None
    assert users.messages().list(userId="me", includeSpamTrash=True).execute()["resultSizeEstimate"] == 1
    restored = users.messages().untrash(userId="me", id=mid).execute()
    assert "INBOX" in restored["labelIds"] and "TRASH" not in restored["labelIds"]
    users.messages().delete(userId="me", id=mid).execute()
    assert users.getProfile(userId="me").execute()["messagesTotal"] == 0


def test_batch_modify_and_unknown_label(sandbox, gmail):
    ids = [sandbox.core.deliver(SUPPORT, mail(subject=f"s{i}")) for i in range(3)]
    gmail.users().messages().batchModify(userId="me", body={"ids": ids, "addLabelIds": ["STARRED"]}).execute()
    assert gmail.users().messages().list(userId="me", q="is:starred").execute()["resultSizeEstimate"] == 3
    with pytest.raises(HttpError) as caught:
        gmail.users().messages().batchModify(userId="me", body={"ids": ids, "addLabelIds": ["Label_99"]}).execute()
    assert caught.value.resp.status == 400


def test_insert_and_import_keep_given_labels_and_dates(gmail):
    raw = mail(Date="Tue, 02 Jan 2024 10:00:00 +0000")
    inserted = gmail.users().messages().insert(userId="me", body={"raw": b64(raw), "labelIds": ["INBOX"]}).execute()
    imported = gmail.users().messages().import_(userId="me", body={"raw": b64(raw)}).execute()
    assert inserted["labelIds"] == ["INBOX"] and "labelIds" not in imported
    got = gmail.users().messages().get(userId="me", id=imported["id"], format="minimal").execute()
    assert got["internalDate"] == "1704189600000"


def test_send_lands_in_sent_threads_and_reaches_a_sandbox_recipient(sandbox, gmail, connect):
    original = sandbox.core.deliver(SUPPORT, mail(subject="Question", sender=ALICE, msgid="<q@gmail.com>"))
    reply = mail(subject="Re: Question", sender=SUPPORT, to=ALICE, in_reply_to="<q@gmail.com>", body="Answer")
    sent = gmail.users().messages().send(userId="me", body={"raw": b64(reply), "threadId": original}).execute()
    assert sent["labelIds"] == ["SENT"] and sent["threadId"] == original
    alice = connect(ALICE)
    inbox = alice.users().messages().list(userId="me", q="in:inbox subject:question").execute()
    assert inbox["resultSizeEstimate"] == 1
    log = sandbox.core.sent
    assert log[0]["to"] == ALICE and log[0]["status"] == "delivered" and log[0]["id"] == sent["id"]


def test_send_over_the_daily_cap_is_429_mail_sending(sandbox, connect):
    sandbox.core.record_sends(ALICE, 500)
    alice = connect(ALICE)
    with pytest.raises(HttpError) as caught:
        alice.users().messages().send(userId="me", body={"raw": b64(mail(sender=ALICE, to=SUPPORT))}).execute()
    assert caught.value.resp.status == 429
    assert "(Mail sending)" in caught.value.reason
    assert int(caught.value.resp["retry-after"]) > 0


def test_profile_and_user_id_must_be_the_tokens_user(gmail):
    profile = gmail.users().getProfile(userId=SUPPORT).execute()
    assert profile["emailAddress"] == SUPPORT
    with pytest.raises(HttpError) as caught:
        gmail.users().getProfile(userId=ALICE).execute()
    assert caught.value.resp.status == 403


def _sent_from(sandbox, gmail, sender: str) -> tuple[str, str]:
    """Send as `sender`; the From of the relayed copy and of the copy kept in Sent."""
    sent = gmail.users().messages().send(userId="me", body={"raw": b64(mail(sender=sender, to="x@example.org"))}
                                         ).execute()
    relayed = base64.urlsafe_b64decode(sandbox.core.sent[-1]["raw"] + "==")
    kept = gmail.users().messages().get(userId="me", id=sent["id"], format="metadata",
                                        metadataHeaders=["From"]).execute()["payload"]["headers"]
    return message_from_bytes(relayed)["From"], kept[0]["value"]


def test_a_from_that_is_no_send_as_address_is_rewritten_to_the_primary_one(sandbox, gmail):
    assert _sent_from(sandbox, gmail, "Boss <ceo@elsewhere.example>") == (f"Boss <{SUPPORT}>",) * 2
    sandbox.core.settings[SUPPORT].add_send_as("team@masociete.com", "Team")
    assert _sent_from(sandbox, gmail, "Team <TEAM@masociete.com>") == ("Team <TEAM@masociete.com>",) * 2
