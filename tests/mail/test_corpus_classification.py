"""Every sisimai sample: bounces, feedback reports and auto-replies are machine mail; ordinary mail is not."""
from __future__ import annotations

import pytest

from connector.mail.parse import parse_mail
from tests.mail.corpus import corpus_files, require

EXPECTED_BY_PREFIX = {"rfc3834": "auto_reply", "arf": "report", "lhost": "bounce", "rhost": "bounce",
                      "rfc3464": "bounce", "is-not-bounce": "normal",
                      # Not in the README's table: sisimai's regression sample for its issue 368,
                      # a postmaster's "email bounce notification" (mailbox full).
                      "rb-issue": "bounce"}
MACHINE = {"auto_reply", "bounce", "report"}

# Samples sisimai recognises only from their body text; we classify by headers and MIME structure.
KNOWN_MISSES = {
    "lhost-sendmail-14.eml": "a person forwarding a bounce ('Fwd: Returned mail'): a real customer "
                             "question for a helpdesk, so deliberately not held back",
}


def expected_kind(name: str) -> str:
    return next(kind for prefix, kind in EXPECTED_BY_PREFIX.items() if name.startswith(prefix + "-"))


def _params():
    for path in corpus_files("sisimai"):
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[path.name])] if path.name in KNOWN_MISSES else []
        yield pytest.param(path, id=path.name, marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_sisimai_sample_is_classified_as_its_prefix_says(path):
    expected = expected_kind(path.name)
    kind = parse_mail(path.read_bytes()).classification.kind
    if expected in MACHINE:
        assert kind in MACHINE, f"{path.name}: machine mail classified as {kind}"
        assert kind == expected
    else:
        assert kind not in MACHINE


def test_exact_kind_accuracy_over_the_whole_corpus():
    base = require("sisimai")
    files = sorted(base.glob("*.eml"))
    assert len(files) >= 290
    exact = sum(parse_mail(p.read_bytes()).classification.kind == expected_kind(p.name) for p in files)
    misses = len(files) - exact
    assert misses <= len(KNOWN_MISSES), f"{exact}/{len(files)} exact"
