"""The loopback listener: only the answer carrying this sign-in's state completes it; others are ignored."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from oauth.flow import ConsentError
from oauth.loopback import LoopbackListener

STATE = "state-of-this-sign-in"


@pytest.fixture
def listener():
    with LoopbackListener() as running:
        yield running


@pytest.fixture
def waiting(listener):
    """`wait(state=STATE)` running in the background, as `auth add` does while the browser is out."""
    with ThreadPoolExecutor(1) as pool:
        yield listener, pool.submit(listener.wait, 5, None, STATE)


def visit(listener, query: str) -> requests.Response:
    return requests.get(f"{listener.redirect_uri}?{query}", timeout=5)


@pytest.mark.parametrize("forged", ["code=4/forged&state=another", "code=4/forged",
                                    "error=access_denied&state=another", "code=4/forged&state="])
def test_a_forged_answer_is_ignored_and_the_real_one_completes_the_sign_in(waiting, forged):
    listener, result = waiting
    ignored = visit(listener, forged)
    assert ignored.status_code == 400 and "ignored" in ignored.text
    assert not result.done()                     # still waiting: a local page cannot end the sign-in
    real = visit(listener, f"code=4/real&state={STATE}")
    assert real.status_code == 200 and "close this window" in real.text
    assert result.result(timeout=5).endswith(f"?code=4/real&state={STATE}")


def test_google_refusing_with_this_state_still_ends_the_wait(waiting):
    listener, result = waiting
    visit(listener, f"error=access_denied&state={STATE}")
    assert "error=access_denied" in result.result(timeout=5)


def test_a_forged_answer_before_the_wait_began_is_skipped(listener):
    visit(listener, "code=4/early&state=another")       # the state was not known yet: queued
    threading.Timer(0.1, visit, (listener, f"code=4/real&state={STATE}")).start()
    assert "code=4/real" in listener.wait(timeout=5, state=STATE)


def test_only_forged_answers_end_in_the_usual_timeout(listener):
    visit(listener, "code=4/forged&state=another")
    with pytest.raises(ConsentError, match="within 0 seconds"):
        listener.wait(timeout=0.3, state=STATE)


def test_side_requests_are_not_found(waiting):
    listener, result = waiting
    assert requests.get(listener.redirect_uri + "favicon.ico", timeout=5).status_code == 404
    assert not result.done()
    visit(listener, f"code=4/real&state={STATE}")
    result.result(timeout=5)


def test_a_pasted_address_of_another_sign_in_is_asked_again(listener):
    answers = iter(["http://127.0.0.1:1/?code=4/old&state=another", "",
                    f"http://127.0.0.1:1/?code=4/pasted&state={STATE}"])
    questions: list[str] = []

    def prompt(question: str) -> str:
        questions.append(question)
        return next(answers)

    assert "code=4/pasted" in listener.wait(timeout=5, prompt=prompt, state=STATE)
    assert "another sign-in" not in questions[0] and "another sign-in" in questions[1]


def test_without_a_state_the_first_answer_wins_as_before(listener):
    visit(listener, "code=4/any&state=whatever")
    assert "code=4/any" in listener.wait(timeout=5)
