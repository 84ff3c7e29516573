"""Which features a grant allows, so the status page can say what is missing and why."""
from __future__ import annotations

from oauth import scopes


def test_the_user_consent_covers_everything_but_forwarding():
    assert scopes.missing_features(scopes.USER_SCOPES) == [scopes.FORWARDING]


def test_the_service_account_set_covers_every_feature():
    assert scopes.missing_features(scopes.SERVICE_ACCOUNT_SCOPES) == []


def test_read_only_cannot_label_send_or_write_filters():
    assert scopes.missing_features(scopes.READ_ONLY) == [scopes.LABELLING, scopes.SENDING, scopes.FILTERS,
                                                         scopes.FORWARDING]


def test_granted_scopes_may_come_as_a_token_response_string():
    granted = f"{scopes.SEND} {scopes.READONLY}"
    assert scopes.features(granted) == [scopes.READING, scopes.SENDING, scopes.READING_SETTINGS]


def test_nothing_granted_means_every_feature_is_missing():
    assert scopes.missing_features(None) == list(scopes.FEATURES)
    assert scopes.missing_features(["https://www.googleapis.com/auth/userinfo.email"]) == list(scopes.FEATURES)
