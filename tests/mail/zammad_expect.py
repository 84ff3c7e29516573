"""Zammad's parser expectations (`mailNNN.yml` beside `mailNNN.box`) and how a ParsedMail is scored on them.

Each field is scored as an agent would judge it, not byte for byte:
- addresses compare lower-cased; display names with quotes and runs of whitespace folded;
- the subject with runs of whitespace folded (folding and tabs are transport, not content);
- the body as text: an HTML expectation (Zammad keeps sanitised HTML for HTML mail) and our HTML are
  both turned into text by the same function, then compared with whitespace folded, allowing a 5 %
  difference for what sanitising drops (styles, hidden markup) — an empty or wrong body never passes;
- attachments by name (as a multiset) and by bytes (each expected file's bytes among ours, line
  ends folded as Zammad stores text parts). Zammad
  also stores the HTML alternative of the body as an attachment `message.html`
  (`content-alternative: true`); we keep it as `body_html`, so those entries are not attachments here.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from connector.mail.html_text import html_to_text
from connector.mail.model import ParsedMail

FIELDS = ("from_email", "from_display_name", "to", "subject", "body", "attachment_names", "attachment_bytes")
EMPTY_BODY = "no visible content"     # Zammad's placeholder for a mail without a body
_EMAIL = re.compile(r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+")


class _RubyTolerantLoader(yaml.SafeLoader):
    """Safe loading where Ruby's `!ruby/hash:...` and other unknown tags read as plain values."""


def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


def _binary(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
    return base64.b64decode(loader.construct_scalar(node))


_RubyTolerantLoader.add_multi_constructor("!", _plain)
_RubyTolerantLoader.add_constructor("!binary", _binary)     # Ruby's tag for bytes, base64


@dataclass(frozen=True)
class Expectation:
    name: str
    raw: bytes
    data: dict

    @property
    def attachments(self) -> list[dict]:
        return [a for a in self.data.get("attachments") or []
                if not (a.get("preferences") or {}).get("content-alternative")]


def load(box: Path) -> Expectation:
    data = yaml.load(box.with_suffix(".yml").read_bytes(), Loader=_RubyTolerantLoader)  # noqa: S506 (safe loader)
    return Expectation(box.stem, box.read_bytes(), data)


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _name(text: str) -> str:
    return fold(text).strip("\"' ")


def _attachment_bytes(att: dict) -> bytes:
    data = att.get("data") or b""
    return data if isinstance(data, bytes) else data.encode("utf-8")


def _body_text(expect: Expectation) -> str:
    body = expect.data.get("body") or ""
    if fold(body) == EMPTY_BODY:
        return ""
    return html_to_text(body) if expect.data.get("content_type") == "text/html" else body


def _our_body(mail: ParsedMail, html: bool) -> str:
    if html and mail.body_html:
        return html_to_text(mail.body_html)
    return mail.body_text


def score(expect: Expectation, mail: ParsedMail) -> dict[str, tuple[bool, str, str]]:
    """field -> (agrees, expected, ours), each value short enough to print."""
    want = expect.data
    out: dict[str, tuple[bool, str, str]] = {}

    def put(field: str, ok: bool, expected, ours) -> None:
        out[field] = (ok, str(expected)[:300], str(ours)[:300])

    sender = mail.from_
    put("from_email", (want.get("from_email") or "").lower() == sender.email, want.get("from_email"), sender.email)
    put("from_display_name", _name(want.get("from_display_name") or "") == _name(sender.name),
        want.get("from_display_name"), sender.name)
    want_to = sorted({e.lower().rstrip(".") for e in _EMAIL.findall(str(want.get("to") or ""))})
    ours_to = sorted({a.email for a in mail.to if a.email})
    put("to", want_to == ours_to, want_to, ours_to)
    put("subject", fold(str(want.get("subject") or "")) == fold(mail.subject), want.get("subject"), mail.subject)
    expected_body = fold(_body_text(expect))
    ours_body = fold(_our_body(mail, want.get("content_type") == "text/html"))
    put("body", _close(expected_body, ours_body), expected_body, ours_body)
    want_names = sorted(fold(a.get("filename") or "") for a in expect.attachments)
    ours_names = sorted(fold(a.filename) for a in mail.attachments)
    put("attachment_names", want_names == ours_names, want_names, ours_names)
    ours_hashes = {_digest(a.payload) for a in mail.attachments}
    missing = [a.get("filename") for a in expect.attachments if _digest(_attachment_bytes(a)) not in ours_hashes]
    put("attachment_bytes", not missing, f"{len(expect.attachments)} files", f"missing {missing}" if missing else "all")
    return out


def _digest(data: bytes) -> str:
    """Line ends folded to LF and trailing ones dropped, on both sides: Zammad stores text parts
    (reports, signatures, attached messages) with LF where the mail has CRLF, and without the
    empty lines before the next boundary; binary files compare the same either way."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n").rstrip(b"\n")).hexdigest()


def _close(expected: str, ours: str) -> bool:
    if expected == ours:
        return True
    if not expected or not ours:
        return False
    matcher = difflib.SequenceMatcher(None, expected, ours, autojunk=False)
    return matcher.quick_ratio() >= 0.95 and matcher.ratio() >= 0.95
