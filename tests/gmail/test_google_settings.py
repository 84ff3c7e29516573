"""Settings, grants and quota through GoogleGmail against the sandbox: what each kind of grant may do."""
from __future__ import annotations

import json

import pytest

from connector.gmail import port
from connector.gmail.google import GoogleGmail
from connector.settings import Settings
from oauth.gmail_access import token_failure
from oauth import scopes
from oauth.credentials import load_authorized_user, load_service_account

from .conftest import SUPPORT, make_adapter, sandbox_post, user_credentials


def service_account(srv, subject: str = SUPPORT, granted=scopes.SERVICE_ACCOUNT_SCOPES):
    info = json.loads((srv.state_dir / "service_account.json").read_text())
    return load_service_account(info, subject, granted)


def test_filters_round_trip(support):
    rule = support.gmail.create_filter({"from": "noreply@shop.example"}, {"addLabelIds": ["TRASH"]})
    assert rule in support.gmail.filters()
    support.gmail.delete_filter(rule.id)
    assert rule.id not in [f.id for f in support.gmail.filters()]
    with pytest.raises(port.NotFound):
        support.gmail.delete_filter(rule.id)


def test_send_as_lists_the_primary_address(support):
    primary = [s for s in support.gmail.send_as() if s.is_primary]
    assert [s.email for s in primary] == [SUPPORT]


def test_a_person_cannot_add_a_forwarding_address(support):
    with pytest.raises(port.ForwardingNotPermitted):
        support.gmail.create_forwarding_address("agent@masociete.com")


def test_a_delegated_service_account_manages_forwarding(sandbox):
    with GoogleGmail(service_account(sandbox), sandbox.url, sleep=lambda s: None, on_token_failure=token_failure) as gmail:
        created = gmail.create_forwarding_address("desk@masociete.com")
        assert created.email == "desk@masociete.com"
        assert created in gmail.forwarding_addresses()
        settings = gmail.update_auto_forwarding(True, "desk@masociete.com", "archive")
        assert settings["enabled"] and gmail.auto_forwarding()["emailAddress"] == "desk@masociete.com"
        gmail.update_auto_forwarding(False)
        gmail.delete_forwarding_address("desk@masociete.com")
        assert gmail.forwarding_addresses() == []


def test_a_consumer_mailbox_cannot_be_impersonated(sandbox):
    with GoogleGmail(service_account(sandbox, "alice@gmail.com"), sandbox.url, sleep=lambda s: None, on_token_failure=token_failure) as gmail:
        with pytest.raises(port.AuthRevoked) as caught:
            gmail.profile()
    assert "domain-wide delegation" in str(caught.value)


def test_a_read_only_grant_cannot_create_labels(sandbox):
    path = sandbox.write_authorized_user(SUPPORT, scopes=scopes.READ_ONLY, name="support-readonly.json")
    info = json.loads(path.read_text())
    assert scopes.LABELLING in scopes.missing_features(info["scopes"])
    credentials = load_authorized_user(info, token_uri_override=info["token_uri"])
    with GoogleGmail(credentials, sandbox.url, sleep=lambda s: None, on_token_failure=token_failure) as gmail:
        assert gmail.profile().email == SUPPORT
        with pytest.raises(port.InsufficientScope) as caught:
            gmail.ensure_label("Helpdesk/Imported")
    assert "labelling mail" in str(caught.value)


def test_an_expired_access_token_is_refreshed_without_the_caller_noticing(sandbox, support):
    assert support.gmail.profile().email == SUPPORT
    sandbox_post(sandbox, "/_sandbox/expire-tokens", {"mailbox": SUPPORT})
    assert support.gmail.profile().email == SUPPORT


def test_from_credentials_aims_where_the_settings_say(sandbox):
    settings = Settings(gmail_api_endpoint=sandbox.url)
    with GoogleGmail.from_credentials(user_credentials(sandbox, SUPPORT), settings) as gmail:
        assert gmail.profile().email == SUPPORT


def test_quota_refusals_wait_as_long_as_a_429_says_and_on_googles_schedule_for_a_403(tmp_path):
    from sandbox.server import SandboxServer
    with SandboxServer(mailboxes=[SUPPORT], state_dir=tmp_path, quota_tier="legacy", port=0) as srv:
        srv.state_dir = tmp_path
        adapter = make_adapter(srv, max_retries=3)
        try:
            assert adapter.gmail.profile().email == SUPPORT
            srv.core.quota.charge(SUPPORT, "messages.send", units=14_999)   # the minute's quota, used up
            with pytest.raises(port.RateLimited) as caught:
                adapter.gmail.labels()
        finally:
            adapter.gmail.close()
    assert not isinstance(caught.value, port.SendingLimitExceeded)
    # The sandbox, like Gmail, alternates a 429 with a retry time and a 403 with none.
    assert len(adapter.sleeps) == 3
    assert adapter.sleeps[0] >= 50 and 2 <= adapter.sleeps[1] < 3 and adapter.sleeps[2] >= 50
    assert caught.value.retry_after is None      # the last answer was the hint-less 403
