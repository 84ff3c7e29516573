"""`helpdesk check` against the Zendesk fake: credentials, role, groups, and triggers that would mail customers."""
from __future__ import annotations

import copy

from connector.helpdesk.zendesk import Zendesk
from tests.helpdesk.fakes.zendesk_api import EMAIL, URL
from tests.helpdesk.test_zendesk import SECRET, fake, zendesk  # noqa: F401 (fixtures)

# The standard trigger, as https://support.zendesk.com/hc/en-us/articles/4408828984346 describes it and
# https://developer.zendesk.com/api-reference/ticketing/business-rules/triggers/#json-format shapes it.
NOTIFY_REQUESTER = {"id": 360001, "title": "Notify requester and CCs of comment update", "active": True,
                    "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Change"},
                                           {"field": "comment_is_public", "operator": "is", "value": "true"}],
                                   "any": []},
                    "actions": [{"field": "notification_user",
                                 "value": ["requester_and_ccs", "[{{ticket.account}}] Re: {{ticket.title}}",
                                           "{{ticket.latest_public_comment_html}}"]}]}


def test_check_accepts_credentials_and_names_each_queues_group(fake, zendesk):
    billing = fake.add_group("Billing")
    result = zendesk.check(["Support", str(billing), "Support"])
    assert result.problems == []
    assert result.ok[0] == f"Zendesk at {URL} accepts ZENDESK_EMAIL {EMAIL} with ZENDESK_API_TOKEN (admin)"
    assert result.ok[1:3] == [f"queue Support: group Support (id {fake.support})",
                              f"queue {billing}: group Billing (id {billing})"]


def test_check_names_a_missing_group(fake, zendesk):
    result = zendesk.check(["Sales"])
    assert result.problems == ["queue Sales: Zendesk has no group 'Sales' that ZENDESK_EMAIL connector@example.com "
                               "with ZENDESK_API_TOKEN can see (HELPDESK_QUEUES takes a group's name or id)"]


def test_check_names_a_trigger_that_would_mail_customers_until_it_spares_our_tickets(fake, zendesk):
    trigger = copy.deepcopy(NOTIFY_REQUESTER)
    fake.triggers.append(trigger)
    [problem] = zendesk.check(["Support"]).problems
    assert "'Notify requester and CCs of comment update' (id 360001) emails the requester" in problem
    trigger["conditions"]["all"].append({"field": "current_tags", "operator": "not_includes",
                                                  "value": "gmail_connector"})
    result = zendesk.check(["Support"])
    assert result.problems == [] and "no active trigger emails the requester of tickets tagged gmail_connector" in \
        result.ok


def test_check_reports_refused_credentials_without_the_token(fake):
    adapter = Zendesk(URL, EMAIL, "wrong-token-also-secret", webhook_secret=SECRET)
    [problem] = adapter.check(["Support"]).problems
    assert "refused the credentials" in problem and "wrong-token" not in problem
    adapter.close()


def test_check_wants_an_agent_and_only_reminds_an_agent_of_triggers(fake, zendesk):
    fake.users[fake.me]["role"] = "end-user"
    assert "must belong to an agent or admin" in zendesk.check(["Support"]).problems[0]
    fake.users[fake.me]["role"] = "agent"
    result = zendesk.check(["Support"])
    assert result.problems == [] and result.ok[-1].startswith("triggers and automations not checked")
