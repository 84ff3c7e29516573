"""Real-world and malformed mail parses; where stalwart's expectations are comparable, we agree."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from connector.mail.parse import parse_mail
from tests.mail.corpus import corpus_files, require

STALWART = [p for folder in ("stalwart/rfc", "stalwart/malformed", "stalwart/thirdparty")
            for p in corpus_files(folder)]

# Where stalwart's reading of a broken message is one fair choice among several, we do not compare
# the text body. Each difference is about malformation, not about losing a well-formed body.
TEXT_NOT_COMPARABLE = {
    "malformed/005": "boundary 'a--' nested in 'a----': stalwart finds a part the stdlib treats as epilogue",
    "malformed/020": "part headers run into the next part's headers; stalwart takes the last Content-Type",
    "malformed/021": "same breakage as malformed/020",
    "thirdparty/001": "three text/plain alternatives; stalwart joins them, we pick the first alternative",
    "thirdparty/002": "undeclared 8-bit text; stalwart and we replace different bytes",
}


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _first_header(expect: dict, name: str):
    return next((h["value"] for h in expect["parts"][0]["headers"] if h["name"] == name), None)


@pytest.mark.parametrize("path", STALWART, ids=_key)
def test_stalwart_message_parses_and_agrees(path):
    mail = parse_mail(path.read_bytes())
    expect = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    subject = _first_header(expect, "subject")
    if subject and subject.get("Text") is not None:
        assert mail.subject == subject["Text"]
    mid = _first_header(expect, "message_id")
    if mid and mid.get("Text"):
        assert mail.message_id == mid["Text"]
    for header, ours in (("from", [mail.from_]), ("to", list(mail.to))):
        value = _first_header(expect, header)
        if value and "Address" in value and "List" in value["Address"]:
            theirs = [(a["address"] or "").lower() for a in value["Address"]["List"]]
            # An address without a domain is not usable for a helpdesk: we keep it as a name only.
            assert [a.email for a in ours] == [t if "@" in t else "" for t in theirs]
    if _key(path) not in TEXT_NOT_COMPARABLE:
        for index in expect["text_body"]:
            body = expect["parts"][index]["body"]
            if "Text" in body:
                assert _norm(body["Text"]) in _norm(mail.body_text)
    _assert_binary_attachments_found(expect, mail)


def _assert_binary_attachments_found(expect: dict, mail) -> None:
    """Every binary attachment stalwart saw is ours too, with the same decoded size."""
    ours = sorted(a.size for a in mail.attachments)
    for index in expect["attachments"]:
        body = expect["parts"][index]["body"]
        for kind in ("Binary", "InlineBinary"):
            if kind in body:
                assert len(body[kind]) in ours


@pytest.mark.parametrize("path", STALWART, ids=_key)
def test_attached_messages_are_the_exact_source_bytes(path):
    raw = path.read_bytes()
    for att in parse_mail(raw).attachments:
        if att.content_type == "message/rfc822" and att.payload:
            # 7bit/8bit: a slice of the source; base64 (rare, seen in rfc/008): its encoding is.
            encoded_start = base64.b64encode(att.payload[:45])
            assert att.payload in raw or encoded_start in re.sub(rb"\s", b"", raw)


def test_embedded_image_and_attachment_sample():
    mail = parse_mail((require("stalwart/thirdparty") / "018.eml").read_bytes())
    assert sorted(a.size for a in mail.attachments) == [158, 242]
    assert [a.inline for a in mail.attachments if a.size == 242] == [True]


def helpdesk(name: str):
    return parse_mail((require("django-helpdesk") / name).read_bytes())


def test_quoted_printable_czech():
    mail = helpdesk("quoted_printable.eml")
    assert mail.subject == "Český test"
    assert mail.body_text.strip() == "Tohle je test českých písmen odeslaných z gmailu."
    assert mail.from_.email == "tim.thelion@gmail.com" and mail.defects == ()


def test_all_special_chars():
    mail = helpdesk("all-special-chars.eml")
    assert mail.subject == "Testovácí email"
    assert mail.body_text.strip() == "íářčšáíéřášč"


def test_blank_body_with_attachment():
    mail = helpdesk("blank-body-with-attachment.eml")
    assert mail.body_text.strip() == ""
    assert [(a.filename, a.size) for a in mail.attachments] == [("baf", 24)]
    assert mail.subject.startswith("Attachment without body - and a loooo")


def test_subject_split_across_encoded_words_of_the_undecodable_sample():
    # Upstream this mail broke decoding; the "í" sits alone in a second encoded word.
    mail = helpdesk("utf-nondecodable.eml")
    assert mail.subject == "Fwd: Cyklozaměstnavatel - změna vyhodnocení"
    assert "Forwarded Message" in mail.body_text
    assert "prosazuje lepší" in mail.body_html


def test_pgp_signature_is_an_attachment_and_forwarded_text_is_body():
    assert [a.content_type for a in helpdesk("pgp.eml").attachments] == ["application/pgp-signature"]
    assert "-----Original Message-----" in helpdesk("forwarded-message.eml").body_text


@pytest.mark.parametrize("path", STALWART + corpus_files("django-helpdesk"), ids=_key)
def test_ordinary_corpus_mail_is_never_machine_mail(path):
    assert parse_mail(path.read_bytes()).classification.kind in {"normal", "bulk"}
