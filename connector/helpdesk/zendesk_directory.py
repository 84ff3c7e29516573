"""Who and where in Zendesk: the user behind a customer's address, the group behind a HELPDESK_QUEUES value.

A customer is looked up by email first and only created (create_or_update) when Zendesk has no one
with that address, so an existing user's name is never overwritten by a mail's From line, and an
agent writing from their own address is not "updated" by an API user that may not edit agents.
"""
from __future__ import annotations

from dataclasses import dataclass

from connector.helpdesk.port import HelpdeskRefused, Person
from connector.helpdesk.zendesk_api import ZendeskApi


@dataclass(frozen=True)
class Group:
    id: int
    name: str


class People:
    def __init__(self, api: ZendeskApi):
        self._api = api
        self._ids: dict[str, int] = {}

    def user_id(self, person: Person) -> int:
        email = person.email.strip().lower()
        if not email:
            raise HelpdeskRefused("the message has no sender address: Zendesk needs one to credit it to")
        if email not in self._ids:
            self._ids[email] = self._find(email) or self._create(person, email)
        return self._ids[email]

    def _find(self, email: str) -> int | None:
        # https://developer.zendesk.com/api-reference/ticketing/users/users/#search-users
        found = self._api.get("/api/v2/users/search", {"query": f"email:{email}"}) or {}
        for user in found.get("users") or []:
            if str(user.get("email") or "").lower() == email and user.get("id"):
                return int(user["id"])
        return None     # also when the search index lags behind a user made moments ago: create_or_update copes

    def _create(self, person: Person, email: str) -> int:
        # https://developer.zendesk.com/api-reference/ticketing/users/users/#create-or-update-user
        # skip_verify_email: Zendesk must not mail the customer a verification request.
        name = " ".join(person.name.split()) or email
        made = self._api.post("/api/v2/users/create_or_update",
                              {"user": {"name": name, "email": email, "skip_verify_email": True}}) or {}
        user = made.get("user") or {}
        if not user.get("id"):
            raise HelpdeskRefused(f"Zendesk made no user for {email}")
        return int(user["id"])


class Groups:
    """HELPDESK_QUEUES values: a group's numeric id, or its name (matched without regard to case)."""

    def __init__(self, api: ZendeskApi):
        self._api = api
        self._known: dict[str, Group] = {}

    def lookup(self, queue: str) -> Group | None:
        key = queue.strip()
        if key.lower() not in self._known:
            found = self._by_id(int(key)) if key.isascii() and key.isdigit() else self._by_name(key)
            if found is None:
                return None
            self._known[key.lower()] = found
        return self._known[key.lower()]

    def require(self, queue: str) -> Group:
        found = self.lookup(queue)
        if found is None:
            raise HelpdeskRefused(f"Zendesk has no group {queue!r} that {self._api.identity} can see: set "
                                  "HELPDESK_QUEUES to a group's name or id (Admin Center > People > Groups)")
        return found

    def forget(self) -> None:
        self._known.clear()

    def _by_id(self, number: int) -> Group | None:
        # https://developer.zendesk.com/api-reference/ticketing/groups/groups/#show-group
        response = self._api.request("GET", f"/api/v2/groups/{number}", ok=(200, 404))
        group = (self._api.json(response) or {}).get("group") if response.status_code == 200 else None
        return _group(group) if group and not group.get("deleted") else None

    def _by_name(self, name: str) -> Group | None:
        # https://developer.zendesk.com/api-reference/ticketing/groups/groups/#list-groups
        wanted = " ".join(name.split()).casefold()
        for page in self._api.pages("/api/v2/groups"):
            for group in page.get("groups") or []:
                if not group.get("deleted") and " ".join(str(group.get("name", "")).split()).casefold() == wanted:
                    return _group(group)
        return None


def _group(body: dict) -> Group:
    return Group(id=int(body["id"]), name=str(body.get("name") or body["id"]))
