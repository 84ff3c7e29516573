"""Request Tracker (the real one scripts/start-rt.sh starts) as a contract destination, read back as RT's root."""
from __future__ import annotations

import os

import pytest
import requests

from connector.helpdesk.rt import RequestTracker
from tests.e2e.rt_helpers import RTRoot
from tests.helpdesk.contract.destination import SeenMessage, SeenTicket

KINDS = {"Create": True, "Correspond": True, "Comment": False}


class RTDestination:
    name, queue, loses_answers = "rt", "General", True
    credits_customer = False        # REST 2.0 writes as RT_USER; the customer is the ticket's requestor

    def __init__(self, url: str, user: str, password: str):
        self.url, self.user, self.password = url, user, password
        self.settings = {"rt_url": url, "rt_user": user, "rt_password": password}
        self.root = RTRoot(url)

    def helpdesk(self, session: requests.Session) -> RequestTracker:
        return RequestTracker(self.url, user=self.user, password=self.password, session=session)

    def tickets(self, requester: str) -> list[SeenTicket]:
        found = self.root.get("/tickets", query=f"Requestor.EmailAddress = '{requester}'", orderby="id",
                              order="ASC", per_page=100, fields="Subject,Queue,Status", **{"fields[Queue]": "Name"})
        return [SeenTicket(str(item["id"]), item["Subject"], requester, item["Queue"]["Name"], item["Status"],
                           self._messages(int(item["id"]))) for item in found.get("items") or []]

    def _messages(self, number: int) -> list[SeenMessage]:
        seen = []
        for txn in self.root.transactions(number):
            parts = self.root.parts(txn.id)
            files = {p.filename: p.data for p in parts if p.filename}
            seen.append(SeenMessage(KINDS[txn.type], self.root.text(txn.id), txn.creator.lower(), files))
        return seen

    def solve(self, remote_id: str) -> None:
        self.root.session.put(f"{self.root.api}/ticket/{remote_id}", json={"Status": "resolved"},
                              timeout=(5, 30)).raise_for_status()

    def answer(self, remote_id: str, text: str, *, public: bool = True):
        kind = "correspond" if public else "comment"
        self.root.session.post(f"{self.root.api}/ticket/{remote_id}/{kind}", timeout=(5, 30),
                               json={"Content": text, "ContentType": "text/plain"}).raise_for_status()
        return None                 # RT is polled

    def close(self) -> None:
        self.root.close()


def make_destination(tmp_path) -> RTDestination:
    values = [os.environ.get(name, "") for name in ("RT_URL", "RT_USER", "RT_PASSWORD")]
    if not all(values):
        pytest.skip("RT_URL, RT_USER and RT_PASSWORD are not set (scripts/start-rt.sh starts Request Tracker)")
    return RTDestination(*values)
