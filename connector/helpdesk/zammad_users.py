"""Zammad users the adapter needs: the customer an article is credited to, and who an agent is.

A customer is looked up by email and created when missing, so the ticket and its articles are
credited to a user with the customer's name. When the create is refused because the address is
taken (a lost answer to an earlier create, or a search index not caught up yet), the ticket is
still opened with Zammad's documented `guess:EMAIL`, which finds or makes the user itself.
"""
from __future__ import annotations

from typing import Any

from connector.helpdesk.json_api import JsonApi
from connector.helpdesk.port import HelpdeskRefused, Person
from connector.helpdesk.zammad_articles import split_name


def customer_id(api: JsonApi, person: Person) -> int | str:
    """The customer's user id, or "guess:EMAIL" for Zammad to resolve."""
    found = find_user(api, person.email)
    if found is not None:
        return found
    firstname, lastname = split_name(person)
    try:
        made = api.post("/api/v1/users", {"firstname": firstname, "lastname": lastname, "email": person.email})
    except HelpdeskRefused:
        return f"guess:{person.email}"
    return int(made["id"])


def find_user(api: JsonApi, email: str) -> int | None:
    """The user whose email is exactly this one: a search hit on a partial match is not it."""
    wanted = email.strip().lower()
    found = api.get("/api/v1/users/search", {"query": wanted, "limit": 20}) or []
    for user in found if isinstance(found, list) else []:
        if str(user.get("email") or "").strip().lower() == wanted:
            return int(user["id"])
    return None


def person_of(api: JsonApi, user_id: Any, fallback: str, cache: dict[int, Person]) -> Person:
    """An agent as a Person; the article's own `created_by` login when the user cannot be read."""
    try:
        number = int(user_id)
    except (TypeError, ValueError):
        return Person(fallback, fallback if "@" in fallback else "")
    if number not in cache:
        response = api.request("GET", f"/api/v1/users/{number}", ok=(200, 403, 404))
        user = api.json(response) if response.status_code == 200 else {}
        name = " ".join(str(user.get(part) or "") for part in ("firstname", "lastname")).strip()
        email = str(user.get("email") or (fallback if "@" in fallback else "")).strip().lower()
        cache[number] = Person(name or fallback, email)
    return cache[number]
