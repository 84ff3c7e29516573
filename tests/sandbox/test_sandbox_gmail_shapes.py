"""Gmail's own shapes where they are awkward: label order and visibility, IMPORTANT, folding, attachment ids."""
from __future__ import annotations

import base64

import pytest
from googleapiclient.errors import HttpError

from sandbox.seed import sample_mail
from sandbox_world import SUPPORT, mail


def test_system_labels_carry_gmails_visibility_fields_and_the_list_is_not_grouped(gmail):
    created = gmail.users().labels().create(userId="me", body={"name": "Helpdesk"}).execute()
    labels = gmail.users().labels().list(userId="me").execute()["labels"]
    by_id = {label["id"]: label for label in labels}
    assert by_id["INBOX"] == {"id": "INBOX", "name": "INBOX", "messageListVisibility": "hide",
                              "labelListVisibility": "labelShow", "type": "system"}
    assert by_id["TRASH"]["labelListVisibility"] == "labelHide"
    assert "messageListVisibility" not in by_id["CATEGORY_PERSONAL"] and "labelListVisibility" not in by_id["UNREAD"]
    ids = [label["id"] for label in labels]
    # A user label sits among the system ones, as in a recorded labels.list: no "system first" order.
    assert ids.index(created["id"]) < ids.index("INBOX")
    assert gmail.users().labels().get(userId="me", id="SENT").execute()["messageListVisibility"] == "hide"


def test_label_ids_on_a_message_come_in_gmails_order_not_sorted(sandbox, gmail):
    label = gmail.users().labels().create(userId="me", body={"name": "Tickets"}).execute()["id"]
    mid = sandbox.core.deliver(SUPPORT, mail(msgid="<order@example.com>"))
    got = gmail.users().messages().modify(userId="me", id=mid, body={"addLabelIds": [label, "STARRED"]}).execute()
    assert got["labelIds"] == ["UNREAD", "STARRED", label, "IMPORTANT", "CATEGORY_PERSONAL", "INBOX"]
    assert got["labelIds"] != sorted(got["labelIds"])


def test_mail_from_a_person_is_marked_important_on_arrival_and_list_mail_is_not(sandbox, gmail):
    person = sandbox.core.deliver(SUPPORT, mail(msgid="<person@example.com>"))
    newsletter = sandbox.core.deliver(SUPPORT, mail(msgid="<list@example.com>", List_Id="<news.example.com>"))
    get = gmail.users().messages().get
    assert "IMPORTANT" in get(userId="me", id=person, format="minimal").execute()["labelIds"]
    assert "IMPORTANT" not in get(userId="me", id=newsletter, format="minimal").execute()["labelIds"]


def test_folded_headers_are_unfolded_the_rfc_way_keeping_the_whitespace(sandbox, gmail):
    raw = (b"Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n        by mx.example.net;"
           b" Tue, 1 Dec 2026 10:00:00 +0000\r\nFrom: bob@example.com\r\nTo: " + SUPPORT.encode() +
           b"\r\nSubject: A long subject\r\n\tthat was folded\r\nMessage-ID: <fold@example.com>\r\n\r\nBody\r\n")
    mid = sandbox.core.deliver(SUPPORT, raw)
    headers = gmail.users().messages().get(userId="me", id=mid, format="metadata").execute()["payload"]["headers"]
    values = {h["name"]: h["value"] for h in headers}
    assert values["Subject"] == "A long subject\tthat was folded"
    assert values["Received"].startswith("from mail.example.com (mail.example.com [192.0.2.1])        by mx")


def _attachment_part(gmail, mid: str) -> dict:
    full = gmail.users().messages().get(userId="me", id=mid, format="full").execute()
    return next(p for p in full["payload"]["parts"] if p["filename"])


def test_attachment_ids_are_long_opaque_and_new_on_every_fetch_yet_all_valid(sandbox, gmail):
    mid = sandbox.core.deliver(SUPPORT, sample_mail("attachment"))
    first, second = _attachment_part(gmail, mid), _attachment_part(gmail, mid)
    one, two = first["body"]["attachmentId"], second["body"]["attachmentId"]
    assert one != two and len(one) > 300
    assert mid.encode() not in base64.urlsafe_b64decode(one[6:] + "=" * (-len(one[6:]) % 4))
    attachments = gmail.users().messages().attachments()
    assert (attachments.get(userId="me", messageId=mid, id=one).execute()["data"]
            == attachments.get(userId="me", messageId=mid, id=two).execute()["data"])


def test_a_forged_or_borrowed_attachment_id_is_refused(sandbox, gmail):
    mid = sandbox.core.deliver(SUPPORT, sample_mail("attachment"))
    other = sandbox.core.deliver(SUPPORT, sample_mail("attachment"))
    good = _attachment_part(gmail, mid)["body"]["attachmentId"]
    attachments = gmail.users().messages().attachments()
    for message_id, attachment in ((mid, good[:-8] + "AAAAAAAA"), (other, good)):
        with pytest.raises(HttpError) as caught:
            attachments.get(userId="me", messageId=message_id, id=attachment).execute()
        assert caught.value.resp.status == 400
