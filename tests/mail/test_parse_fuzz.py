"""Whatever bytes arrive, parse_mail returns a ParsedMail whose text is storable (valid UTF-8)."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.cli.parse_cmd import mail_as_json
from connector.mail.parse import parse_mail

FRAGMENTS = st.sampled_from([
    b"From: ", b"To: ", b"Subject: ", b"Content-Type: multipart/mixed; boundary=b\r\n", b"\r\n--b\r\n",
    b"--b--", b"=?utf-8?B?w6k?=", b"=?bogus?Q?=E9?=", b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n", b"charset=\"x-bad\"", b"\r\n\r\n", b"\xff\xfe\x80",
    b"<a@b>", b"Content-Type: message/rfc822\r\n", b"filename*=utf-8''%FF%C3", b"Date: 99 Foo 0\r\n",
    b"Content-Type: text/html\r\n\r\n<p>x &amp;", b"cid:x", b"\r\n ", b"Message-ID: <", b"@",
    # What the real-world repairs read: odd codec labels, UTF-7, uuencode, winmail.dat, message/*.
    b"=?idna?Q?caf\xe9?=", b"=?utf7?B?KzJBQS0?=", b"charset=utf-7", b"charset=\"x\x00\"", b"charset=hex",
    b"Content-Type: message/news\r\n", b"Content-Type: multipart/related; start=\"<x>\"\r\n",
    b"begin 644 a.bin\r\nM86)C\r\n`\r\nend\r\n", b"Content-Transfer-Encoding: x-uuencode\r\n",
    b"Content-Type: application/ms-tnef\r\n\r\nx\x9f>\"\x01\x00\x02\x02\x90", b"\x1b$B", b"stray line\r\n",
    b"\xef\xbb\xbf", b"Reply-To: r@x.example\r\n", b"X-MLServer: fml\r\n",
])


def _storable(raw: bytes) -> None:
    mail = parse_mail(raw)
    assert mail.raw == raw and mail.message_id
    assert not mail.too_complex.startswith("unreadable"), mail.too_complex   # the safety net caught a bug of ours
    encoded = json.dumps(mail_as_json(mail), ensure_ascii=False).encode("utf-8")   # no lone surrogates
    assert encoded


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(raw):
    _storable(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, max_size=40).map(b"".join))
def test_mail_shaped_garbage_never_raises(raw):
    _storable(raw)
