"""parse_mail on hand-made messages: every rule of the parser, one small message each."""
from __future__ import annotations

import base64
import hashlib
from datetime import timezone

from connector.mail.parse import parse_mail


def mail(headers: str, body: str = "hello\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode("latin-1")


def test_simple_message_fields():
    m = parse_mail(mail("""
From: "Ada Lovelace" <Ada@Example.ORG>
To: support@help.example, "Bob" <bob@x.example>
Cc: carol@x.example
Reply-To: replies@example.org
Subject: Printer broken
Message-ID: <abc@example.org>
In-Reply-To: <parent@example.org>
References: <root@example.org>
  <parent@example.org>
Date: Tue, 07 Apr 2026 10:00:01 +0200
"""))
    assert m.from_.name == "Ada Lovelace" and m.from_.email == "ada@example.org"
    assert [a.email for a in m.to] == ["support@help.example", "bob@x.example"]
    assert [a.email for a in m.cc] == ["carol@x.example"]
    assert m.requester.email == "replies@example.org"
    assert m.message_id == "abc@example.org"
    assert m.in_reply_to == "parent@example.org"
    assert m.references == ("root@example.org", "parent@example.org")
    assert m.date.utcoffset().total_seconds() == 7200
    assert m.body_text == "hello\r\n" and m.body_html is None
    assert m.classification.kind == "normal" and m.defects == ()
    assert m.header("subject") == "Printer broken"


def test_missing_message_id_is_synthesised_deterministically():
    raw = mail("From: a@b.example\nSubject: x\nDate: Tue, 07 Apr 2026 10:00:01 +0000")
    first, second = parse_mail(raw), parse_mail(raw)
    assert first.message_id == f"{hashlib.sha256(raw).hexdigest()[:32]}@generated.invalid"
    assert first.message_id == second.message_id
    assert any("Message-ID" in d for d in first.defects)


def test_message_id_without_brackets_is_accepted():
    assert parse_mail(mail("Message-ID: 1.2.3.4@example")).message_id == "1.2.3.4@example"


def test_date_without_zone_is_utc_and_garbage_date_is_none():
    naive = parse_mail(mail("Date: Tue, 07 Apr 2026 10:00:01 -0000"))
    assert naive.date.tzinfo is not None and naive.date.utcoffset().total_seconds() == 0
    bad = parse_mail(mail("Date: Tue, 7 Apr 2026 10:00:t <x@y>"))
    assert bad.date is None and any(d.startswith("Date:") for d in bad.defects)


def test_rfc2047_adjacent_words_and_split_multibyte_character():
    # "é" (c3 a9) split across two encoded words: bytes must be joined before decoding.
    m = parse_mail(mail("Subject: =?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?= =?ISO-8859-1?Q?_na=EFve?= end"))
    assert m.subject == "café naïve end"


def test_rfc2047_bad_charset_and_broken_base64_padding_never_crash():
    m = parse_mail(mail("Subject: =?x-nonsense?Q?caf=E9?= =?utf-8?B?w6k?=\nFrom: =?utf-8?B?QWRh?= <a@b.example>"))
    assert m.subject == "caféé"
    assert m.from_.name == "Ada"
    assert any("unknown charset" in d for d in m.defects)


def test_raw_8bit_headers_are_read_as_utf8():
    raw = "Subject: Grüße\r\nFrom: Jürgen <j@x.example>\r\n\r\nhi\r\n".encode("utf-8")
    m = parse_mail(raw)
    assert m.subject == "Grüße" and m.from_.name == "Jürgen"


def test_garbage_address_gives_empty_email_and_defect():
    m = parse_mail(mail("From: Moderator-Address\nTo: <<>> ,,"))
    assert m.from_.email == "" and m.from_.name == "Moderator-Address"
    assert any(d.startswith("From:") for d in m.defects)


def test_obsolete_space_before_colon_still_reads_headers():
    m = parse_mail(mail("Subject : spaced\nFrom: a@b.example"))
    assert m.subject == "spaced" and m.from_.email == "a@b.example"


def test_missing_semicolon_before_boundary_still_finds_parts():
    body = b"--b\r\nContent-Type: text/plain\r\n\r\ninside\r\n--b--\r\n"
    m = parse_mail(b"Content-Type: multipart/mixed\r\n\tboundary=\"b\"\r\n\r\n" + body)
    assert m.body_text == "inside"
    well_formed = parse_mail(b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" + body)
    assert well_formed.body_text == "inside"
    assert m.defects[0].startswith("message: an obsolete header form") and m.defects[1:] == well_formed.defects


def test_mislabelled_charset_falls_back_with_defect():
    raw = mail("Content-Type: text/plain; charset=us-ascii", "caf\xe9 ol\xe9\n")
    m = parse_mail(raw)
    assert m.body_text.startswith("café olé")
    assert any("did not decode" in d for d in m.defects)


def test_invalid_utf8_body_decodes_as_cp1252_with_defect():
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n\x93quoted\x94 \xff\r\n"
    m = parse_mail(raw)
    assert m.body_text.startswith("\u201cquoted\u201d")
    assert any("utf-8" in d for d in m.defects)


def test_unknown_charset_tries_utf8():
    raw = "Content-Type: text/plain; charset=x-klingon\r\n\r\nžluť\r\n".encode("utf-8")
    m = parse_mail(raw)
    assert m.body_text == "žluť\r\n" and any("unknown charset" in d for d in m.defects)


def test_quoted_printable_and_base64_with_broken_padding():
    qp = parse_mail(mail("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
                         "=C4=8Cesk=C3=BD test=\nsoft break\n"))
    assert qp.body_text.startswith("Český testsoft break")
    encoded = base64.b64encode("Grüße aus Köln".encode()).decode().rstrip("=")
    b64 = parse_mail(mail("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64", encoded))
    assert b64.body_text == "Grüße aus Köln"


MULTI = """\
From: a@b.example
Subject: parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

plain version
--alt
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>html <img src="cid:Logo@X"></p>
--rel
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
--alt--
--outer
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer
Content-Type: text/plain; name="=?utf-8?Q?notes_=C3=A9t=C3=A9.txt?="
Content-Disposition: attachment

a file, not body text
--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="fwd.eml"

From: inner@x.example
Subject: inner
Content-Type: text/plain

inner body  with  odd   spacing
--outer--
"""


def test_multipart_bodies_attachments_and_inline_images():
    raw = MULTI.replace("\n", "\r\n").encode()
    m = parse_mail(raw)
    assert m.body_text == "plain version"
    assert '<img src="cid:Logo@X">' in m.body_html
    by_type = {a.content_type: a for a in m.attachments}
    image = by_type["image/png"]
    assert image.content_id == "logo@x" and image.inline and image.payload == b"\x89PNG\r\n\x1a\n"
    pdf = by_type["application/pdf"]
    assert pdf.filename == "Résumé.pdf" and pdf.size == 9 and not pdf.inline
    assert pdf.sha256 == hashlib.sha256(b"%PDF-1.4\n").hexdigest()
    assert by_type["text/plain"].filename == "notes été.txt"
    assert "a file" not in m.body_text


def test_attached_message_is_kept_byte_for_byte():
    raw = MULTI.replace("\n", "\r\n").encode()
    enclosed = next(a for a in parse_mail(raw).attachments if a.content_type == "message/rfc822")
    expected = b"From: inner@x.example\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\ninner body  with  odd   spacing"
    assert enclosed.payload == expected and enclosed.filename == "fwd.eml"
    assert enclosed.size == len(expected)


def test_html_only_message_gets_text_from_html():
    m = parse_mail(mail("Content-Type: text/html; charset=utf-8",
                        "<html><head><style>p{}</style></head><body><p>Hello &amp; welcome</p>"
                        "<p>Line&nbsp;two<br>three</p><script>x()</script></body></html>"))
    assert m.body_text == "Hello & welcome\n\nLine two\nthree"
    assert m.body_html.startswith("<html>")


def test_mixed_with_several_inline_text_parts_joins_them():
    body = ("--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: image/gif\r\n"
            "Content-Disposition: inline\r\n\r\nGIF\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--b--\r\n")
    m = parse_mail(mail('Content-Type: multipart/mixed; boundary="b"', "") + body.encode())
    assert m.body_text == "first\nsecond"
    assert [a.content_type for a in m.attachments] == ["image/gif"]
    assert m.attachments[0].inline is False     # inline disposition but no Content-ID


def test_missing_boundary_still_gives_text_and_a_defect():
    m = parse_mail(mail('Content-Type: multipart/mixed; boundary="nope"', "just text\n"))
    assert "just text" in m.body_text
    assert m.defects


def test_empty_input_and_binary_garbage_never_raise():
    for raw in (b"", b"\x00\xff\xfe garbage \x80\r\n\r\n\xff", b"Content-Type: multipart/mixed\r\n\r\n--"):
        m = parse_mail(raw)
        assert m.raw == raw and m.message_id.endswith("@generated.invalid")


def test_giant_ids_and_addresses_stay_indexable():
    from connector.mail.parse import parse_mail

    raw = (f"From: {'a' * 400}@example.com\r\nMessage-ID: <{'x' * 6000}@example.com>\r\n"
           f"References: <{'r' * 3000}@example.com>\r\nSubject: long\r\n\r\nbody\r\n").encode()
    mail = parse_mail(raw)
    assert len(mail.message_id) <= 500 and all(len(r) <= 500 for r in mail.references)
    assert mail.from_.email == "" and any("From" in d for d in mail.defects)


def test_broken_rfc2231_parameters_never_raise():
    # The stdlib's parameter decoding raises TypeError on mixed numbering (x*, x*1) and
    # ValueError on a continuation number over 4,300 digits; the plain parameters still count.
    for params in (b"; x*=a; x*1=b", b"; x*" + b"1" * 5000 + b"=y"):
        raw = (b"Content-Type: multipart/mixed; boundary=b" + params + b"\r\n\r\n--b\r\n"
               b"Content-Type: text/plain; charset=utf-8" + params + b"\r\n\r\nh\xc3\xa9\r\n--b--\r\n")
        m = parse_mail(raw)
        assert m.body_text == "hé" and m.too_complex == ""


def test_address_nested_past_the_stdlib_recursion_never_raises():
    for value in (b"(" * 5000, b"a:" * 3000):
        m = parse_mail(b"From: " + value + b"\r\nSubject: x\r\n\r\nhi\r\n")
        assert m.subject == "x" and m.from_.email == "" and m.too_complex == ""
