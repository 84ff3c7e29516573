"""Who and where in Freshdesk: the connector's own agent, groups by name, contacts by email, agents by id.

Groups come from GET /api/v2/groups (admins only) or, for an agent who is no admin, from the
choices of the default `group` ticket field, which any agent who may create tickets can read.
Names are cached for a few minutes; a name not found is looked up again once before refusing.
"""
from __future__ import annotations

import time
from typing import Callable

from connector.helpdesk.freshdesk_api import FreshdeskApi
from connector.helpdesk.port import HelpdeskRefused, Person

GROUPS_TTL_SECONDS = 300


class Directory:
    def __init__(self, api: FreshdeskApi, clock: Callable[[], float] = time.time):
        self._api, self._clock = api, clock
        self._me: dict | None = None
        self._groups: dict[str, int] | None = None
        self._groups_at = 0.0
        self._contacts: dict[str, int] = {}

    def me(self) -> dict:
        """GET /api/v2/agents/me: the agent whose API key the connector uses (its id marks our own posts)."""
        if self._me is None:
            self._me = self._api.get("/agents/me") or {}
        return self._me

    def group_id(self, queue: str) -> int | None:
        """HELPDESK_QUEUES' value as a group id: a number is taken as is, a name is looked up."""
        text = queue.strip()
        if not text:
            return None
        if text.isascii() and text.isdigit():
            return int(text)
        found = self.groups().get(text.casefold())
        if found is None and self._clock() - self._groups_at > 5:
            found = self.groups(refresh=True).get(text.casefold())
        if found is None:
            raise HelpdeskRefused(f"group {text!r} does not exist in Freshdesk (HELPDESK_QUEUES takes a group's "
                                  "name or its numeric id, from Admin > Team > Groups)")
        return found

    def groups(self, refresh: bool = False) -> dict[str, int]:
        """Group names (case-folded) to ids."""
        if refresh or self._groups is None or self._clock() - self._groups_at > GROUPS_TTL_SECONDS:
            self._groups, self._groups_at = self._load_groups(), self._clock()
        return self._groups

    def _load_groups(self) -> dict[str, int]:
        # One page of 100: a helpdesk with more groups than that is not one this connector feeds.
        response = self._api.request("GET", "/groups", params={"per_page": 100}, ok=(200, 403))
        if response.status_code == 200:
            return {str(g["name"]).casefold(): int(g["id"]) for g in self._api.json(response) or []}
        # Not an admin: "List All Ticket Fields" is allowed to agents who can create tickets.
        fields = self._api.get("/ticket_fields", {"type": "default_group"}) or []
        choices = next((f.get("choices") or {} for f in fields if f.get("name") == "group"), {})
        return {str(name).casefold(): int(number) for name, number in choices.items()}

    def contact_id(self, person: Person) -> int | None:
        """The contact a customer's message is credited to, made when Freshdesk has none yet. None when
        Freshdesk will not make one (the address belongs to an agent, or to a blocked or deleted contact)."""
        email = person.email.strip().lower()
        if not email:
            return None
        if email not in self._contacts:
            found = self._api.get("/contacts", {"email": email}) or []
            if found:
                self._contacts[email] = int(found[0]["id"])
            else:
                response = self._api.request("POST", "/contacts", json_body={"name": person.name.strip() or email,
                                                                             "email": email}, ok=(200, 201, 409))
                if response.status_code == 409:
                    return None     # "duplicate_value": not a contact we may write as
                self._contacts[email] = int(self._api.json(response)["id"])
        return self._contacts[email]

    def agent(self, user_id: int, seen: dict[int, Person]) -> Person:
        """An agent's name and address (GET /api/v2/agents/[id] needs an admin: else a placeholder)."""
        if user_id not in seen:
            response = self._api.request("GET", f"/agents/{int(user_id)}", ok=(200, 403, 404))
            agent = self._api.json(response) if response.status_code == 200 else None
            contact = (agent or {}).get("contact") or {}
            seen[user_id] = Person(str(contact.get("name") or f"Freshdesk agent {user_id}"),
                                   str(contact.get("email") or "").strip().lower())
        return seen[user_id]
