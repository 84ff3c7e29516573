"""The forwarding state machine, one transition at a time (pure: no Gmail, no database)."""
import pytest

from connector.forwarding.criteria import filter_action, filter_criteria, is_our_filter
from connector.forwarding.states import ACTIVE, AWAITING, FAILED, NOT_CONFIGURED, VERIFIED, plan

EXT, SUP = "aide@masociete.com", "aide@helpdesk.example.com"


@pytest.mark.parametrize("current, status, present, repair, expected", [
    (NOT_CONFIGURED, None, False, True, (NOT_CONFIGURED, False)),
    (NOT_CONFIGURED, "pending", False, True, (AWAITING, False)),
    (AWAITING, None, False, True, (AWAITING, False)),            # guided: the person has not added it yet
    (AWAITING, "accepted", False, True, (ACTIVE, True)),
    (VERIFIED, "accepted", True, True, (VERIFIED, False)),
    (VERIFIED, "accepted", False, True, (ACTIVE, True)),         # repaired, but must be verified again
    (FAILED, "accepted", True, True, (ACTIVE, False)),
    (VERIFIED, "accepted", True, False, (VERIFIED, False)),
    (VERIFIED, "accepted", False, False, (FAILED, False)),
    (ACTIVE, "pending", True, False, (FAILED, False)),
    (ACTIVE, None, True, False, (FAILED, False)),
    (FAILED, None, False, False, (FAILED, False)),               # the daily check leaves failures alone
    (AWAITING, "accepted", False, False, (AWAITING, False)),
])
def test_transitions(current, status, present, repair, expected):
    result = plan(current, status, present, repair=repair, external=EXT, support=SUP)
    assert (result.state, result.create_filter) == expected
    assert (result.reason is not None) == (result.state == FAILED and current != FAILED)


def test_the_reasons_say_what_to_check():
    assert "deleted" in plan(VERIFIED, "accepted", False, repair=False, external=EXT, support=SUP).reason
    assert "pending again" in plan(ACTIVE, "pending", True, repair=False, external=EXT, support=SUP).reason


def test_our_filter_is_recognised_by_target_and_criteria():
    wanted = filter_criteria(EXT)
    assert wanted == {"query": f"deliveredto:{EXT}"}      # Gmail's to: reads only To, Cc and Bcc
    assert is_our_filter({"query": f"deliveredto:{EXT}"}, filter_action(SUP), wanted, SUP)
    assert not is_our_filter({"query": f"deliveredto:{EXT}"}, {"forward": "other@x.example"}, wanted, SUP)
    assert not is_our_filter({"to": EXT}, filter_action(SUP), wanted, SUP), "the old to: filter is not it"
    assert not is_our_filter({"query": "x"}, filter_action(SUP), wanted, SUP)
    assert filter_action(SUP, "markRead") == {"forward": SUP, "removeLabelIds": ["UNREAD"]}
