"""The dashboard makes a stored confirmation link clickable only when it leads to Google or the configured sandbox."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connector.admin.render_sections import forwarding_table

NOW = datetime(2026, 4, 7, 12, 0, tzinfo=timezone.utc)
SANDBOX = "http://127.0.0.1:8765"


def _page(link: str, api_endpoint: str = "") -> str:
    row = {"external_address": "facturation@masociete.com", "support_address": "facturation@helpdesk.example",
           "group": "Billing", "state": "awaiting_confirmation", "failure_reason": None,
           "confirmation_code": "618033988", "confirmation_link": link, "last_check_at": None, "verified_at": None}
    return forwarding_table([row], NOW, api_endpoint)


@pytest.mark.parametrize("link, api_endpoint", [
    ("https://mail-settings.google.com/mail/vf-%5BANGjdJ8%5D-abc", ""),
    ("https://mail.google.com/mail/vf-abc", SANDBOX),
    (f"{SANDBOX}/_sandbox/forwarding/confirm?token=abc", SANDBOX),
])
def test_google_and_sandbox_links_are_clickable(link, api_endpoint):
    html = _page(link, api_endpoint)
    assert '<a href="' in html and "do not open it" not in html


@pytest.mark.parametrize("link, api_endpoint", [
    ("https://accounts-google.evil.example/confirm", ""),
    ("https://mail.google.com.evil.example/mail/vf-1", ""),
    ("https://mail.google.com@evil.example/mail/vf-1", ""),
    ("https://evil.example\\@mail.google.com/mail/vf-1", ""),
    ("http://mail.google.com/mail/vf-1", ""),
    ("https://mail.google.com:8443/mail/vf-1", ""),
    (f"{SANDBOX}/_sandbox/forwarding/confirm?token=abc", ""),
    ("http://127.0.0.1:9999/_sandbox/forwarding/confirm?token=abc", SANDBOX),
])
def test_any_other_link_is_inert_text_with_a_warning(link, api_endpoint):
    html = _page(link, api_endpoint)
    assert "<a " not in html and "href" not in html
    assert "not a Google address" in html and "<code>" in html
