"""Mail as broken mailers write it, one class of breakage per test (issue: real-world mail, read right).

Each message is written here from what the classes of failure look like in the wild (Zammad's,
MimeKit's and the Ruby mail gem's fixtures show them); none is copied from anywhere."""
from __future__ import annotations

import base64
import binascii
import struct

import pytest

from connector.mail.parse import parse_mail


def eml(*headers: str, body: bytes | str = b"hello\r\n") -> bytes:
    head = "\r\n".join(headers).encode("utf-8", "surrogateescape")
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head + b"\r\n\r\n" + data


def raw_header(name: str, value: bytes) -> str:
    """A header with raw 8-bit bytes, as mailers that skip RFC 2047 send it."""
    return f"{name}: " + value.decode("ascii", "surrogateescape")


# --- charsets: raw 8-bit and mislabelled text ---------------------------------------------------

@pytest.mark.parametrize("charset, subject, name", [
    ("gbk", "您好，我的订单还没有到", "王小明"),
    ("big5", "請問我的訂單何時出貨", "陳大文"),
    ("shift_jis", "注文した商品がまだ届きません", "山田太郎"),
])
def test_raw_8bit_headers_in_a_cjk_charset_are_read_in_it(charset, subject, name):
    mail = parse_mail(eml(raw_header("From", f'"{name}" <c@x.example>'.encode(charset)),
                          raw_header("Subject", subject.encode(charset)), "To: help@shop.example"))
    assert mail.subject == subject and mail.from_.name == name and mail.from_.email == "c@x.example"
    assert any("by detection" in d for d in mail.defects)


def test_raw_iso_2022_jp_subject_is_decoded():
    mail = parse_mail(eml(raw_header("Subject", "注文の確認".encode("iso2022_jp")), "From: a@x.example"))
    assert mail.subject == "注文の確認"


def test_raw_8bit_attachment_name_is_read_with_the_message_headers_charset():
    name = "請求書.pdf".encode("big5")
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
            b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="' + name +
            b'"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n')
    mail = parse_mail(eml(raw_header("Subject", "請問發票".encode("big5")), "From: a@x.example",
                          'Content-Type: multipart/mixed; boundary="b"', body=body))
    assert [a.filename for a in mail.attachments] == ["請求書.pdf"]


def test_a_body_labelled_latin1_that_is_utf8_reads_as_utf8():
    mail = parse_mail(eml("Content-Type: text/plain; charset=iso-8859-1", body="Grüße, Jürgen".encode("utf-8")))
    assert mail.body_text == "Grüße, Jürgen"
    assert any("is UTF-8" in d for d in mail.defects)


def test_an_undeclared_gb18030_body_is_detected():
    text = "您好，这封信是关于我上周订购的商品，到现在还没有收到，请帮忙查一下物流信息。谢谢！"
    mail = parse_mail(eml("Content-Type: text/plain", body=text.encode("gb18030")))
    assert mail.body_text == text


def test_utf8_with_stray_latin1_bytes_keeps_both_parts_readable():
    mail = parse_mail(eml("Content-Type: text/plain; charset=utf-8",
                          body="Merci – déjà reçu ".encode("utf-8") + "(cité: café)".encode("latin-1")))
    assert mail.body_text == "Merci – déjà reçu (cité: café)"


def test_a_few_accented_latin1_bytes_are_not_mistaken_for_greek():
    mail = parse_mail(eml("Content-Type: text/plain", body="café olé".encode("latin-1")))
    assert mail.body_text == "café olé"


def test_utf7_subject_and_body():
    mail = parse_mail(eml("Subject: =?unicode-1-1-utf-7?Q?+ANw-bermittlung?=",
                          "Content-Type: text/plain; charset=unicode-1-1-utf-7", body=b"Empf+AOQ-nger\r\n"))
    assert mail.subject == "Übermittlung" and mail.body_text.strip() == "Empfänger"


# --- RFC 2047 in the wild ------------------------------------------------------------------------

@pytest.mark.parametrize("header, expected", [
    ('From: "=?utf-8?Q?M=C3=BCller?=" <m@x.example>', "Müller"),                 # inside quotes
    ("From: =?utf-8?Q?J=C3=BCr?==?utf-8?Q?gen?= <j@x.example>", "Jürgen"),         # no space between
    ("From: =?utf-8?B?5bGx55Sw?= =?utf-8?B?5aSq6YOO?= <y@x.example>", "山田太郎"),  # adjacent, split
    ("From: =?us-ascii?Q?Jane Doe?= <d@x.example>", "Jane Doe"),                    # a space inside
    ("From: =?latin1?Q?Fran=E7ois?= <f@x.example>", "François"),                    # odd label
])
def test_encoded_words_as_mailers_write_them(header, expected):
    assert parse_mail(eml(header)).from_.name == expected


def test_an_encoded_word_folded_across_lines_with_spaces_inside():
    mail = parse_mail(eml("Subject: Antwort zu\r\n =?us-ascii?Q?ABC / 123 /\r\n Wetterau West?="))
    assert mail.subject == "Antwort zu ABC / 123 / Wetterau West"


def test_a_raw_8bit_byte_inside_a_q_encoded_word_is_its_charset_byte():
    mail = parse_mail(eml(raw_header("Subject", b"=?iso-8859-1?Q?Gr\xfc=DFe?=")))
    assert mail.subject == "Grüße"


def test_an_encoded_word_with_an_unknown_charset_is_still_read():
    mail = parse_mail(eml("Subject: =?x-made-up?Q?caf=C3=A9?="))
    assert mail.subject == "café" and any("unknown charset" in d for d in mail.defects)


# --- senders -------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers, email, source", [
    (["Reply-To: <r@x.example>", "Return-Path: <rp@x.example>"], "r@x.example", "Reply-To"),
    (["Sender: s@x.example", "Return-Path: <rp@x.example>"], "s@x.example", "Sender"),
    (["Return-Path: <rp@x.example>"], "rp@x.example", "Return-Path"),
])
def test_without_from_the_sender_comes_from_the_next_header_and_says_so(headers, email, source):
    mail = parse_mail(eml(*headers, "Subject: no from"))
    assert mail.from_.email == email and mail.sender_source == source
    assert any(f"taken from {source}" in d for d in mail.defects)


def test_without_any_sender_header_the_mbox_line_names_the_sender():
    mail = parse_mail(b"From mbox@x.example Tue Oct 29 03:52:03 2013\r\n" + eml("Subject: exported"))
    assert mail.from_.email == "mbox@x.example" and mail.sender_source == "mbox 'From ' line"


@pytest.mark.parametrize("from_value", ["<>", '"Only A Name"', ""])
def test_an_empty_or_name_only_from_falls_back_and_keeps_the_name(from_value):
    mail = parse_mail(eml(f"From: {from_value}", "Reply-To: r@x.example"))
    assert mail.from_.email == "r@x.example"
    if "Only" in from_value:
        assert mail.from_.name == "Only A Name"


def test_two_from_headers_the_first_usable_one_wins_and_it_is_noted():
    mail = parse_mail(eml("From: broken", "From: Ann <ann@x.example>"))
    assert mail.from_.email == "ann@x.example" and any("2 From headers" in d for d in mail.defects)


@pytest.mark.parametrize("from_value, name, email", [
    ("Big Bug bb@bug.example", "Big Bug", "bb@bug.example"),
    ("tim@x.example concierge@x.example", "tim@x.example", "concierge@x.example"),
    ("john@x.example <real@y.example>", "john@x.example", "real@y.example"),
    ("=?iso-8859-2?Q?Namedy=F1ski?= (hans@x.example)", "Namedyński", "hans@x.example"),
    ("MAILER-DAEMON (Mail Delivery System) <postmaster@x.example>", "MAILER-DAEMON", "postmaster@x.example"),
])
def test_addresses_without_brackets_or_in_comments(from_value, name, email):
    mail = parse_mail(eml(f"From: {from_value}"))
    assert (mail.from_.name, mail.from_.email) == (name, email)


# --- header blocks from broken mailers -------------------------------------------------------------

def test_a_stray_line_without_colon_in_the_headers_does_not_end_them():
    mail = parse_mail(eml("Received: from a.example", "by b.example with ESMTP", "quite Delivered-To: x",
                          "From: Ann <ann@x.example>", "Subject: still read", "Message-ID: <m1@x.example>"))
    assert (mail.subject, mail.from_.email, mail.message_id) == ("still read", "ann@x.example", "m1@x.example")
    assert any("has no field name" in d for d in mail.defects)


def test_junk_before_the_first_header_is_skipped():
    mail = parse_mail(eml("---- Original email message ----", "From: ann@x.example", "Subject: kept"))
    assert mail.subject == "kept" and mail.from_.email == "ann@x.example"


def test_a_stray_line_after_the_last_needed_header_still_starts_the_body():
    mail = parse_mail(b"From: ann@x.example\r\nSubject: s\r\nHello there, no blank line\r\nsecond line\r\n")
    assert mail.subject == "s" and "Hello there" in mail.body_text


def test_a_utf8_byte_order_mark_before_the_headers():
    mail = parse_mail(b"\xef\xbb\xbf" + eml("From: ann@x.example", "Subject: with a BOM"))
    assert mail.subject == "with a BOM" and mail.from_.email == "ann@x.example"


def test_fold_indents_lost_on_every_header_still_find_the_boundary():
    body = b"--b\r\nContent-Type: text/plain\r\n\r\nthe text\r\n--b--\r\n"
    mail = parse_mail(eml("From: ann@x.example", "Content-Type: multipart/alternative;",
                          'boundary="b"', "MIME-Version: 1.0", body=body))
    assert mail.body_text.strip() == "the text"


# --- bodies ----------------------------------------------------------------------------------------

def test_an_empty_text_part_beside_html_takes_the_html_text():
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
            b"<p>Three <b>paragraphs</b></p><p>of text</p>\r\n--b--\r\n")
    mail = parse_mail(eml('Content-Type: multipart/alternative; boundary="b"', body=body))
    assert "Three paragraphs" in mail.body_text and "of text" in mail.body_text


def test_a_uuencoded_file_in_a_text_body_becomes_an_attachment():
    data = bytes(range(256))
    lines = "".join(binascii.b2a_uu(data[i:i + 45]).decode() for i in range(0, len(data), 45))
    mail = parse_mail(eml(body=f"See the file.\r\n\r\nbegin 644 log.bin\r\n{lines}`\r\nend\r\n\r\nThanks"))
    assert [(a.filename, a.payload) for a in mail.attachments] == [("log.bin", data)]
    assert "begin 644" not in mail.body_text and "Thanks" in mail.body_text


def test_an_x_uuencode_part_without_begin_line():
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="a.txt"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n'
            + binascii.b2a_uu(b"Hello helpdesk") + b"`\r\n--b--\r\n")
    mail = parse_mail(eml('Content-Type: multipart/mixed; boundary="b"', body=body))
    assert mail.attachments[0].payload == b"Hello helpdesk"


def test_parts_in_several_charsets_each_read_in_their_own():
    body = ("--b\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n".encode() + "Привет".encode("koi8-r") +
            b"\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\n" + "Dziękuję".encode("iso-8859-2") +
            b"\r\n--b--\r\n")
    mail = parse_mail(eml('Content-Type: multipart/mixed; boundary="b"', body=body))
    assert "Привет" in mail.body_text and "Dziękuję" in mail.body_text


def test_a_cut_base64_attachment_keeps_the_bytes_that_decode():
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: image/png\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"0123456789abcdef")[:-3] + b"\r\n--b--\r\n")
    mail = parse_mail(eml('Content-Type: multipart/mixed; boundary="b"', body=body))
    assert mail.attachments[0].payload.startswith(b"0123456789")


# --- attachments a helpdesk shows ------------------------------------------------------------------

def _mixed(*parts: bytes) -> bytes:
    body = b"".join(b"--b\r\n" + p + b"\r\n" for p in (b"Content-Type: text/plain\r\n\r\nsee below",) + parts)
    return eml("From: a@x.example", 'Content-Type: multipart/mixed; boundary="b"', body=body + b"--b--\r\n")


def test_an_attached_message_is_named_by_its_subject():
    enclosed = b"From: c@y.example\r\nSubject: =?utf-8?Q?Bestellung_=C3=BCber_100?=\r\n\r\ntext\r\n"
    mail = parse_mail(_mixed(b"Content-Type: message/rfc822\r\n\r\n" + enclosed))
    assert [a.filename for a in mail.attachments] == ["Bestellung über 100.eml"]
    assert mail.attachments[0].payload.startswith(b"From: c@y.example")


def test_report_parts_and_signatures_get_the_names_helpdesks_show():
    mail = parse_mail(_mixed(b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
                             b"Final-Recipient: rfc822; x@y.example\r\nAction: failed\r\n",
                             b"Content-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n",
                             b"Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA",
                             b"Content-Type: image/jpeg\r\nContent-ID: <image001.jpg@01D0>\r\n"
                             b"Content-Transfer-Encoding: base64\r\n\r\n/9j/",
                             b"Content-Type: video/quicktime\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA",
                             b"Content-Type: video/quicktime\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAB"))
    assert [a.filename for a in mail.attachments] == ["delivery-status.txt", "signature.asc", "smime.p7s",
                                                      "image001.jpg", "video.mov", "video1.mov"]
    report = mail.attachments[0].payload
    assert b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient" in report


def test_names_only_in_content_type_or_in_rfc2231_continuations():
    mail = parse_mail(_mixed(b'Content-Type: application/pdf; name="invoice.pdf"\r\n\r\n%PDF',
                             b"Content-Type: application/pdf\r\nContent-Disposition: attachment;\r\n"
                             b" filename*0*=utf-8''Rechnung%20f%C3%BCr;\r\n filename*1*=%20M%C3%A4rz.pdf\r\n\r\n%PDF"))
    assert [a.filename for a in mail.attachments] == ["invoice.pdf", "Rechnung für März.pdf"]


def test_a_text_part_that_is_a_resource_of_multipart_related_is_a_file():
    body = (b"--r\r\nContent-Type: text/html\r\n\r\n<p>the body</p>\r\n--r\r\nContent-Type: text/html\r\n\r\n"
            b"<p>a resource</p>\r\n--r--\r\n")
    mail = parse_mail(eml('Content-Type: multipart/related; boundary="r"', body=body))
    assert mail.body_html.strip() == "<p>the body</p>"
    assert [a.filename for a in mail.attachments] == ["document.html"]


def _tnef(files: list[tuple[str, bytes]]) -> bytes:
    """A winmail.dat written from the TNEF layout (MS-OXTNEF 2.1.3): signature, key, then
    attributes of level, id, type, length, data and a 16-bit checksum of the data."""
    def attribute(level: int, ident: int, kind: int, data: bytes) -> bytes:
        return (struct.pack("<BHHI", level, ident, kind, len(data)) + data
                + struct.pack("<H", sum(data) & 0xFFFF))
    out = struct.pack("<IH", 0x223E9F78, 0x0001) + attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    for name, data in files:
        out += attribute(2, 0x9002, 0x0006, b"\x01\x00\xff\xff\xff\xff" + b"\x00" * 8)   # rendering: starts one
        out += attribute(2, 0x8010, 0x0001, name.encode() + b"\x00")
        out += attribute(2, 0x800F, 0x0006, data)
    return out


def test_winmail_dat_is_unpacked_into_its_files():
    tnef = base64.b64encode(_tnef([("report.docx", b"PK\x03\x04docx"), ("photo.jpg", b"\xff\xd8\xff")]))
    mail = parse_mail(_mixed(b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
                             b"Content-Transfer-Encoding: base64\r\n\r\n" + tnef))
    assert [(a.filename, a.payload) for a in mail.attachments] == [("report.docx", b"PK\x03\x04docx"),
                                                                   ("photo.jpg", b"\xff\xd8\xff")]


def test_a_broken_winmail_dat_is_kept_as_it_came():
    mail = parse_mail(_mixed(b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n\r\nnot tnef at all'))
    assert [a.filename for a in mail.attachments] == ["winmail.dat"]
    assert any("could not be unpacked" in d for d in mail.defects)


# --- machine mail ----------------------------------------------------------------------------------

def test_a_list_managers_refusal_is_held_back_as_a_bounce():
    mail = parse_mail(eml("From: neko-admin@lists.example", "X-MLServer: fml [fml 4.0.3]",
                          "Subject: You are not member (neko ML)", body="You are not a member of this list."))
    assert mail.classification.kind == "bounce"


def test_a_carriers_plain_text_failure_notice_is_a_bounce():
    mail = parse_mail(eml("From: no-reply@mail.carrier.example", "Subject: Mail",
                          body="Your mail sent on: Thu, 29 Apr 2013\r\n  Could not be delivered to: <x@y.example>\r\n"))
    assert mail.classification.kind == "bounce"


@pytest.mark.parametrize("headers, body", [
    (["From: Ann <ann@x.example>"], "My order could not be delivered to my address, can you help?"),
    (["From: no-reply@shop.example"], "Your order 1234 has shipped."),
    (["From: no-reply@shop.example", "Reply-To: ann@client.example"], "Message not delivered? Address unknown."),
    (["From: Acme Delivery Service <info@acme.example>"], "Your parcel could not be delivered."),
    (["From: returns@supplier.example"], "Your return could not be delivered to the warehouse."),
    (["From: no-reply@voip.example"], "Your voicemail mailbox is full."),
    (["From: no-reply@pay.example"], "Your payment permanently failed."),
    (["From: it-admin@client.example", "List-ID: <support.client.example>"], "The printer is broken again."),
])
def test_ordinary_mail_with_failure_words_or_a_machine_like_sender_stays_ordinary(headers, body):
    kind = parse_mail(eml(*headers, "Subject: order", body=body)).classification.kind
    assert kind in ("normal", "bulk")


@pytest.mark.parametrize("label", ["cp-850", "ibm850", "IBM-850"])
def test_code_pages_under_the_spellings_mailers_use(label):
    mail = parse_mail(eml(f"Content-Type: text/plain; charset={label}", body="Grüße".encode("cp850")))
    assert mail.body_text == "Grüße" and not any("unknown charset" in d for d in mail.defects)


@pytest.mark.parametrize("cte, body", [(" BASE64 ", base64.b64encode("Grüße".encode())),
                                       ("quoted-printable ", b"Gr=C3=BC=C3=9Fe")])
def test_a_transfer_encoding_with_spaces_around_it_is_still_decoded(cte, body):
    mail = parse_mail(eml("Content-Type: text/plain; charset=utf-8", f"Content-Transfer-Encoding:{cte}", body=body))
    assert mail.body_text == "Grüße"


@pytest.mark.parametrize("text, charset", [
    ("Merci à vous", "cp1252"), ("Total: 20 €", "cp1252"), ("Temp 20 °C", "cp1252"), ("«Bonjour»", "cp1252"),
    ("Re: Angebot – Preis", "cp1252"), ("Ærø", "cp1252"), ("15 × 20 cm", "cp1252"), ("Señor Muñoz", "cp1252"),
    ("Jiří Novák", "cp1250"), ("Müşteri hizmetleri", "cp1254"), ("Иван Петров", "cp1251"),
])
def test_short_undeclared_text_in_european_charsets(text, charset):
    mail = parse_mail(eml("Content-Type: text/plain", raw_header("Subject", text.encode(charset)),
                          body=text.encode(charset)))
    assert mail.body_text == text
    if charset in ("cp1252", "cp1251"):
        # A raw 8-bit header in cp1250 or cp1254 still reads as cp1252 ("Jiøí"): beside the
        # field names, detection cannot tell them from Western text.
        assert mail.subject == text


def test_detection_never_answers_a_charset_mail_is_not_written_in():
    # A few random 8-bit bytes: chardet may say EBCDIC, which would turn the whole header into noise.
    mail = parse_mail(eml(raw_header("From", b"\x92\xa3\xf1 <jane@example.org>")))
    assert mail.from_.email == "jane@example.org"


def test_a_multipart_without_the_empty_line_after_its_headers_keeps_its_parts():
    raw = (b"From: ann@x.example\r\nSubject: invoice\r\nContent-Type: multipart/mixed; boundary=XX\r\n"
           b"--XX\r\nContent-Type: text/plain\r\n\r\nsee the invoice\r\n--XX\r\nContent-Type: application/pdf\r\n"
           b'Content-Disposition: attachment; filename="invoice.pdf"\r\n\r\n%PDF\r\n--XX--\r\n')
    mail = parse_mail(raw)
    assert mail.subject == "invoice" and mail.from_.email == "ann@x.example"
    assert "Content-Type: application/pdf" not in mail.header("Content-Type")


@pytest.mark.parametrize("sent, shown", [("../../../home/agent/.bashrc", ".bashrc"),
                                         ("..\\..\\Windows\\evil.bat", "evil.bat"),
                                         ("report\x1b[2J\x07.pdf\u202egpj.exe", "report[2J.pdfgpj.exe")])
def test_a_senders_file_name_is_a_name_not_a_path_nor_controls(sent, shown):
    mail = parse_mail(_mixed(b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                             b"filename*=utf-8''" + "".join(f"%{b:02X}" for b in sent.encode()).encode() + b"\r\n\r\nx"))
    assert [a.filename for a in mail.attachments] == [shown]


def test_a_made_up_name_never_takes_a_name_the_sender_gave():
    mail = parse_mail(_mixed(b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBO",
                             b'Content-Type: image/png; name="IMAGE.png"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBO'))
    assert [a.filename for a in mail.attachments] == ["image1.png", "IMAGE.png"]


@pytest.mark.parametrize("mapi", [struct.pack("<IHHI", 1, 0x1002, 0x0001, 0xFFFFFFFF),   # 4 billion values
                                  struct.pack("<I", 0xFFFFFFFF)])                       # 4 billion properties
def test_a_winmail_dat_claiming_billions_of_properties_costs_nothing(mapi):
    attribute = struct.pack("<BHHI", 2, 0x9005, 0x0006, len(mapi)) + mapi + struct.pack("<H", sum(mapi) & 0xFFFF)
    tnef = base64.b64encode(_tnef([("a.txt", b"x")]) + attribute)
    mail = parse_mail(_mixed(b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
                             b"Content-Transfer-Encoding: base64\r\n\r\n" + tnef))
    assert [(a.filename, a.payload) for a in mail.attachments] == [("a.txt", b"x")]
