"""The Gmail OAuth scopes the connector asks for, and which features each one unlocks.

Smallest grant that works: `gmail.modify` reads mail and changes labels on messages (batchModify
accepts no narrower scope; `gmail.labels` only manages label definitions, so it cannot apply the
import label and is not requested). `gmail.send` is listed on its own so sending stays explicit,
although modify covers it too. Filters need `gmail.settings.basic`; forwarding addresses and
auto-forwarding need `gmail.settings.sharing`, which Google grants to service accounts with
domain-wide delegation only. An address that is only forwarded (Inbox.mode "forwarding") is
never read: its grant holds the two settings scopes alone, so it cannot spend quota on mail.
"""
from __future__ import annotations

from typing import Iterable

FULL = "https://mail.google.com/"
MODIFY = "https://www.googleapis.com/auth/gmail.modify"
READONLY = "https://www.googleapis.com/auth/gmail.readonly"
SEND = "https://www.googleapis.com/auth/gmail.send"
SETTINGS_BASIC = "https://www.googleapis.com/auth/gmail.settings.basic"
SETTINGS_SHARING = "https://www.googleapis.com/auth/gmail.settings.sharing"

# Feature names, in the order a person would read them in a status page.
READING = "reading mail"
LABELLING = "labelling mail"
SENDING = "sending replies"
READING_SETTINGS = "reading settings"
FILTERS = "filters"
FORWARDING = "forwarding"
FEATURES = (READING, LABELLING, SENDING, READING_SETTINGS, FILTERS, FORWARDING)

FEATURES_BY_SCOPE: dict[str, frozenset[str]] = {
    FULL: frozenset(FEATURES),
    MODIFY: frozenset({READING, LABELLING, SENDING, READING_SETTINGS}),
    READONLY: frozenset({READING, READING_SETTINGS}),
    SEND: frozenset({SENDING}),
    SETTINGS_BASIC: frozenset({READING_SETTINGS, FILTERS}),
    SETTINGS_SHARING: frozenset({FORWARDING}),
}

# What a person consents to (user OAuth): everything but forwarding, which users cannot grant.
USER_SCOPES = (MODIFY, SEND, SETTINGS_BASIC)
# What a Workspace admin authorises for the service account's domain-wide delegation.
SERVICE_ACCOUNT_SCOPES = (MODIFY, SEND, SETTINGS_BASIC, SETTINGS_SHARING)
# A forwarded address: its forwarding address and filter are managed, its mail is never read.
FORWARDING_SCOPES = (SETTINGS_BASIC, SETTINGS_SHARING)
# Watch a mailbox without touching it: no import label, no replies, no filters.
READ_ONLY = (READONLY,)


def scopes_for_mode(mode: str) -> tuple[str, ...]:
    """What a service account asks for when it acts as an inbox of this mode (direct | forwarding)."""
    return FORWARDING_SCOPES if mode == "forwarding" else SERVICE_ACCOUNT_SCOPES


def _as_set(granted: Iterable[str] | str | None) -> set[str]:
    # Token responses give scopes as one space-separated string; credentials give a list.
    if granted is None:
        return set()
    if isinstance(granted, str):
        return set(granted.split())
    return set(granted)


def features(granted: Iterable[str] | str | None) -> list[str]:
    """Features the granted scopes allow, in FEATURES order."""
    allowed: set[str] = set()
    for scope in _as_set(granted):
        allowed |= FEATURES_BY_SCOPE.get(scope, frozenset())
    return [f for f in FEATURES if f in allowed]


def missing_features(granted: Iterable[str] | str | None) -> list[str]:
    """Features the granted scopes do not allow, in FEATURES order."""
    have = set(features(granted))
    return [f for f in FEATURES if f not in have]
