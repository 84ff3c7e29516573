"""Reply composition is pure: the subject, threading headers, our Message-ID and the MIME bytes."""
from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default

import pytest

from connector.outbound.compose import (MAX_REFERENCES, Reply, ReplyAttachment, ReplyTooLarge, capped_references,
                                        check_size, compose_reply, new_message_id, reply_subject)

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("subject, expected", [
    ("Cannot log in", "Re: Cannot log in [#42]"),
    ("Re: Cannot log in", "Re: Cannot log in [#42]"),
    ("RE: re:  Aw: Cannot log in", "Re: Cannot log in [#42]"),
    ("Re[2]: Cannot log in", "Re: Cannot log in [#42]"),
    ("Re: Cannot log in [#42]", "Re: Cannot log in [#42]"),
    ("[#42] Cannot [#42] log in", "Re: [#42] Cannot log in"),
    ("Fwd: invoice", "Re: Fwd: invoice [#42]"),
    ("", "Re: [#42]"),
])
def test_subject_has_one_re_and_the_token_once(subject, expected):
    assert reply_subject(subject, 42) == expected


def test_subject_without_token_keeps_the_gmail_thread_subject():
    assert reply_subject("Re: Re: Cannot log in", 42, add_token=False) == "Re: Cannot log in"
    assert reply_subject("Cannot log in [#42]", 42, add_token=False) == "Re: Cannot log in [#42]"
    assert reply_subject("Order [#7]", 42) == "Re: Order [#7] [#42]", "another ticket's token is just text"


def test_message_id_is_ours_unique_and_in_the_sender_domain():
    first, second = new_message_id(7, "Support@MaSociete.com"), new_message_id(7, "support@masociete.com")
    assert first.startswith("ticket-7-") and first.endswith("@masociete.com")
    assert first != second
    assert new_message_id(7, "a@b.example", token="abc") == "ticket-7-abc@b.example"


def test_references_keep_order_drop_duplicates_and_the_root_when_capped():
    assert capped_references(["a@x", "b@x", "a@x", "", "c@x"]) == ("a@x", "b@x", "c@x")
    many = [f"m{i}@x" for i in range(50)]
    capped = capped_references(many)
    assert len(capped) == MAX_REFERENCES
    assert capped[0] == "m0@x" and capped[-1] == "m49@x" and capped[1] == f"m{50 - MAX_REFERENCES + 1}@x"


def _reply(**changes) -> Reply:
    values = dict(from_address="support@masociete.com", from_name="Support Ma Société", to=("claire@example.org",),
                  subject="Re: Délai de livraison", body_text="Bonjour Claire,\n\nvotre commande est partie.",
                  message_id="ticket-3-abc@masociete.com", date=WHEN, in_reply_to="c2@example.org",
                  references=("c1@example.org", "c2@example.org"))
    values.update(changes)
    return Reply(**values)


def test_composed_reply_carries_the_threading_headers_and_no_auto_submitted():
    raw = compose_reply(_reply(cc=("boss@example.org",)))
    msg = message_from_bytes(raw, policy=default)
    assert msg["From"].addresses[0].addr_spec == "support@masociete.com"
    assert msg["From"].addresses[0].display_name == "Support Ma Société"
    assert msg["To"] == "claire@example.org" and msg["Cc"] == "boss@example.org"
    assert msg["Subject"] == "Re: Délai de livraison"
    assert msg["Message-ID"] == "<ticket-3-abc@masociete.com>"
    assert msg["In-Reply-To"] == "<c2@example.org>"
    assert msg["References"] == "<c1@example.org> <c2@example.org>"
    assert msg["Auto-Submitted"] is None, "a person's reply must not look like an auto-reply"
    assert msg.get_body(("plain",)).get_content().startswith("Bonjour Claire")
    assert b"\r\n" in raw and all(byte < 128 for byte in raw), "7-bit clean for any relay"


def test_first_reply_without_inbound_ids_has_no_threading_headers():
    msg = message_from_bytes(compose_reply(_reply(in_reply_to=None, references=())), policy=default)
    assert msg["In-Reply-To"] is None and msg["References"] is None


def test_attachments_are_attached_with_their_type_and_name():
    pdf = ReplyAttachment.guess("facture.pdf", b"%PDF-1.4 tiny")
    blob = ReplyAttachment.guess("data.unknownext", b"\x00\x01")
    msg = message_from_bytes(compose_reply(_reply(attachments=(pdf, blob))), policy=default)
    parts = list(msg.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        ("facture.pdf", "application/pdf"), ("data.unknownext", "application/octet-stream")]
    assert parts[0].get_content() == b"%PDF-1.4 tiny"


def test_size_is_checked_on_the_encoded_message():
    payload = b"\xff" * (3 * 1024 * 1024)                 # 3 MB grows to about 4 MB in base64
    raw = compose_reply(_reply(attachments=(ReplyAttachment.guess("big.bin", payload),)))
    check_size(raw, limit=5 * 1024 * 1024)
    with pytest.raises(ReplyTooLarge, match="at most 3 MB"):
        check_size(raw, limit=3 * 1024 * 1024)
