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
    return problems
