"""What a helpdesk destination needs that can be checked without the network: the settings it requires."""
from __future__ import annotations

from connector.settings import Settings


def missing_settings(settings: Settings) -> list[str]:
    """One line per setting the chosen HELPDESK cannot do without; empty when it can start."""
    problems = []
    if settings.helpdesk == "rt":
        if not settings.rt_url:
            problems.append("HELPDESK=rt needs RT_URL (e.g. https://rt.example.com)")
        if not settings.rt_token and not (settings.rt_user and settings.rt_password):
            problems.append("HELPDESK=rt needs RT_TOKEN, or RT_USER and RT_PASSWORD")
    elif settings.helpdesk == "webhook":
        if not settings.webhook_url:
            problems.append("HELPDESK=webhook needs WEBHOOK_URL")
        if not settings.webhook_secret:
            problems.append("HELPDESK=webhook needs WEBHOOK_SECRET (a long random string the receiver shares), "
                            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    elif settings.helpdesk in _NEEDS:
        for names, line in _NEEDS[settings.helpdesk]:
            if not any(all(getattr(settings, name) for name in group) for group in names):
                problems.append(f"HELPDESK={settings.helpdesk} needs {line}")
        if not settings.helpdesk_webhook_secret:
            problems.append(f"HELPDESK={settings.helpdesk} needs HELPDESK_WEBHOOK_SECRET, the secret its webhook "
                            "calls for agents' answers are checked with (docs/helpdesks.md), e.g. "
                            "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return problems


# Per product: (alternatives, each a group of settings that must all be set; the line naming them).
_NEEDS = {
    "django_helpdesk": [((("django_helpdesk_url",),), "DJANGO_HELPDESK_URL (e.g. https://help.example.com)"),
                        ((("django_helpdesk_token",), ("django_helpdesk_user", "django_helpdesk_password")),
                         "DJANGO_HELPDESK_TOKEN, or DJANGO_HELPDESK_USER and DJANGO_HELPDESK_PASSWORD (a staff user)")],
    "zendesk": [((("zendesk_url",),), "ZENDESK_URL (e.g. https://example.zendesk.com)"),
                ((("zendesk_email", "zendesk_api_token"),), "ZENDESK_EMAIL and ZENDESK_API_TOKEN")],
    "zammad": [((("zammad_url",),), "ZAMMAD_URL (e.g. https://zammad.example.com)"),
               ((("zammad_token",),), "ZAMMAD_TOKEN (an access token with ticket.agent)")],
    "freshdesk": [((("freshdesk_url",),), "FRESHDESK_URL (e.g. https://example.freshdesk.com)"),
                  ((("freshdesk_api_key",),), "FRESHDESK_API_KEY")],
    "freescout": [((("freescout_url",),), "FREESCOUT_URL (e.g. https://help.example.com)"),
                  ((("freescout_api_key",),), "FREESCOUT_API_KEY (API & Webhooks module)")],
}
