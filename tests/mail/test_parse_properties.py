"""Whatever MIME a sender builds, and wherever the bytes are cut, parse_mail returns promptly."""
from __future__ import annotations

import base64
import quopri

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.mail.fallback import fallback_mail
from connector.mail.model import ParsedMail
from connector.mail.parse import parse_mail

CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "iso-2022-jp", "shift_jis", "koi8-r", "utf-16",
            "us-ascii", "x-made-up", ""]
ENCODINGS = ["7bit", "8bit", "binary", "quoted-printable", "base64", "x-uuencode", "bogus"]
MULTIPARTS = ["mixed", "alternative", "related", "report"]
HEADER_NAMES = ["Subject", "From", "To", "Cc", "Reply-To", "Message-ID", "In-Reply-To", "References",
                "Date", "Return-Path", "Sender", "Auto-Submitted", "Precedence", "List-Id",
                "Content-Disposition", "Content-ID", "X-Custom"]

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


@st.composite
def encoded_word(draw) -> bytes:
    charset = draw(st.sampled_from(CHARSETS[:6] + ["x-made-up"]))
    data = draw(words).encode(charset if charset != "x-made-up" else "utf-8", "replace")
    if draw(st.booleans()):
        return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="
    return b"=?" + charset.encode() + b"?Q?" + quopri.encodestring(data, header=True) + b"?="


header_value = st.one_of(
    words.map(lambda text: text.encode("utf-8")),                     # raw 8-bit UTF-8
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ")),     # any bytes at all
    st.lists(encoded_word(), min_size=1, max_size=4).map(b" ".join),
    st.sampled_from([b"<a@b.example>", b'"Ada" <ada@example.org>, bob@x', b"(((", b"x*1=a; x*=b",
                     b"Tue, 07 Apr 2026 10:00:01 +0200", b"auto-replied", b"bulk", b"=?utf-8?B?w6k"]),
)
# Parameter breakages that made the stdlib raise (RFC 2231 numbering) or go quadratic (";" in quotes).
odd_parameters = st.sampled_from(["", "", "; name*=a; name*1=b", "; x*" + "1" * 5000 + "=y",
                                  '; name="a;b\\";c', "; filename*0*=utf-8''%C3; filename*1*=%A9",
                                  '; name="' + ";" * 3000])
header_name = st.one_of(st.sampled_from(HEADER_NAMES),
                        st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
                                min_size=1, max_size=12))


@st.composite
def header_block(draw, content_type: str) -> bytes:
    lines = [f"Content-Type: {content_type}{draw(odd_parameters)}".encode()]
    for name, value in draw(st.lists(st.tuples(header_name, header_value), max_size=5)):
        lines.append(name.encode() + b": " + value)
    if draw(st.booleans()):
        lines.append(b"Content-Transfer-Encoding: " + draw(st.sampled_from(ENCODINGS)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


@st.composite
def leaf(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["text/plain", "text/html", "application/octet-stream", "message/rfc822"]))
    charset = draw(st.sampled_from(CHARSETS))
    if kind == "message/rfc822":
        body = b"From: inner@x.example\r\nSubject: inner\r\n\r\n" + draw(words).encode()
    elif kind == "application/octet-stream":
        body = draw(st.binary(max_size=60))
    else:
        text = draw(words) if kind == "text/plain" else "<p>" + draw(words) + "<!--<a<br>"
        body = text.encode(charset or "utf-8", "replace") if charset != "x-made-up" else text.encode()
    if draw(st.booleans()):
        body = base64.encodebytes(body)
    ctype = f"{kind}; charset={charset}" if charset else kind
    return ctype, body


def _tree(children):
    return st.tuples(st.sampled_from(MULTIPARTS), st.lists(children, max_size=4))


mime_tree = st.recursive(leaf(), _tree, max_leaves=10)


@st.composite
def message(draw) -> bytes:
    counter = iter(range(10_000))

    def render(node) -> bytes:
        if isinstance(node[1], bytes):
            return draw(header_block(node[0])) + node[1]
        boundary = f"b{next(counter)}=_"
        parts = b"".join(b"\r\n--" + boundary.encode() + b"\r\n" + render(child) for child in node[1])
        head = draw(header_block(f'multipart/{node[0]}; boundary="{boundary}"'))
        return head + b"preamble" + parts + b"\r\n--" + boundary.encode() + b"--\r\n"

    raw = render(draw(mime_tree))
    if draw(st.booleans()):
        raw = raw[:draw(st.integers(0, len(raw)))]     # the bytes may be cut anywhere
    return raw


def _storable(mail: ParsedMail) -> None:
    """All text is valid Unicode (no lone surrogates), so it can be stored and shown."""
    texts = [mail.subject, mail.body_text, mail.body_html or "", mail.message_id, mail.too_complex,
             mail.from_.name, mail.from_.email, *mail.defects, *(v for kv in mail.headers for v in kv)]
    for text in texts:
        text.encode("utf-8")


# The deadline is hypothesis' own time budget per example, kept generous: these are tiny messages.
@settings(max_examples=200, deadline=2000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(message())
def test_any_mime_structure_parses_promptly(raw):
    mail = parse_mail(raw)
    assert isinstance(mail, ParsedMail) and mail.raw == raw and mail.message_id
    assert "parser failed" not in mail.too_complex     # the safety net caught no bug of ours
    _storable(mail)


@settings(max_examples=100, deadline=2000)
@given(st.binary(max_size=2000), st.text(max_size=40))
def test_fallback_reads_any_bytes(raw, reason):
    mail = fallback_mail(raw, reason)
    assert mail.attachments[0].payload == raw and mail.too_complex and mail.defects == (mail.too_complex,)
    _storable(mail)
