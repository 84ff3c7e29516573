"""Fixtures for the helpdesk adapters: the real Request Tracker that scripts/start-rt.sh starts.

`eval "$(scripts/start-rt.sh | sed 's/^/export /')"` exports RT_URL, RT_USER and RT_PASSWORD;
without them the RT tests skip. Keys are new on every run: the test RT keeps its database.
"""
from __future__ import annotations

import base64
import os
import re
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import requests
import responses

from connector.helpdesk.rt import RequestTracker

TIMEOUT = (5, 30)


@dataclass(frozen=True)
class RTServer:
    url: str
    user: str
    password: str

    def tracker(self, **overrides: Any) -> RequestTracker:
        return RequestTracker(overrides.pop("url", self.url), **{"user": self.user, "password": self.password,
                                                                  **overrides})


class RTReader:
    """Reads back what the adapter wrote, straight from REST 2.0 (as RT_USER)."""

    def __init__(self, server: RTServer):
        self.api = server.url.rstrip("/") + "/REST/2.0"
        self.session = requests.Session()
        self.session.auth = (server.user, server.password)

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self.api + path, params=params, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def put(self, path: str, body: dict) -> Any:
        response = self.session.put(self.api + path, json=body, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def attachments(self, transaction_id: str) -> list[dict]:
        """The transaction's MIME parts, each with its decoded bytes under "bytes"."""
        listing = self.get(f"/transaction/{transaction_id}/attachments", per_page=100)
        parts = [self.get(f"/attachment/{item['id']}") for item in listing["items"]]
        for part in parts:
            part["bytes"] = base64.b64decode(part.get("Content") or "")
        return parts

    def history(self, ticket_id: str) -> list[dict]:
        return self.get(f"/ticket/{ticket_id}/history", fields="Type,Creator", per_page=100)["items"]


@pytest.fixture(scope="session")
def rt_server() -> RTServer:
    url, user, password = (os.environ.get(name, "") for name in ("RT_URL", "RT_USER", "RT_PASSWORD"))
    if not url:
        pytest.skip("RT_URL is not set (scripts/start-rt.sh starts Request Tracker)")
    if not (user and password):
        pytest.skip("RT_USER and RT_PASSWORD are not set (scripts/start-rt.sh prints them)")
    return RTServer(url, user, password)


@pytest.fixture
def rt(rt_server: RTServer) -> Iterator[RequestTracker]:
    tracker = rt_server.tracker()
    yield tracker
    tracker.close()


@pytest.fixture(scope="session")
def rt_reader(rt_server: RTServer) -> Iterator[RTReader]:
    reader = RTReader(rt_server)
    yield reader
    reader.session.close()


@pytest.fixture
def key() -> str:
    """A key prefix no earlier run used."""
    return f"gmc-test{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def rt_token(rt_server: RTServer) -> str:
    """An auth token for RT_USER, made the way a person does: Settings > Auth Tokens in RT's web UI
    (RT_USER needs the ManageAuthTokens right, which the test RT grants)."""
    web = requests.Session()
    try:
        web.post(f"{rt_server.url}/NoAuth/Login.html", data={"user": rt_server.user, "pass": rt_server.password},
                 timeout=TIMEOUT).raise_for_status()
        me = web.get(f"{rt_server.url}/REST/2.0/user/{rt_server.user}", auth=(rt_server.user, rt_server.password),
                     timeout=TIMEOUT).json()["id"]
        page = web.post(f"{rt_server.url}/Prefs/AuthTokens.html", timeout=TIMEOUT,
                        headers={"Referer": f"{rt_server.url}/Prefs/AuthTokens.html"},
                        data={"Owner": me, "Password": rt_server.password, "Description": "gmail-connector tests",
                              "Create": "Create"})
    finally:
        web.close()
    found = re.search(r'(?:&#34;|")(\d+-\d+-[0-9a-f]+)(?:&#34;|") is your new authentication token', page.text)
    if not found:
        pytest.fail("RT's web UI made no auth token for RT_USER (does it have the ManageAuthTokens right?)")
    return found.group(1)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


OFFLINE_API = "http://rt.example.test/REST/2.0"


@pytest.fixture
def offline():
    """A RequestTracker whose RT is `responses`: RT's answers simulated, no RT needed."""
    tracker = RequestTracker("http://rt.example.test/", user="gmail-connector", password="s3cret-pw")
    with responses.RequestsMock() as mocked:
        yield tracker, mocked
    tracker.close()
