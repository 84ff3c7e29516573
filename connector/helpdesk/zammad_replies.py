"""Agents' public answers on a Zammad ticket, read back through the API for the connector to send through Gmail.

An answer is an article with sender "Agent", internal false, written after `since` by someone
other than ZAMMAD_TOKEN's user, and not carrying our "@gmail-connector" marker. Internal notes,
trigger articles (sender "System") and the customer mail the connector posted are never answers.
Only tickets the connector opened (their first article carries our ticket key) have answers.
`since` is this machine's clock and Zammad stamps by its own; no answer can predate the ticket, so
answers count from whichever is earlier: `since` less a skew margin, or the ticket's first article
by Zammad's clock. Reading a little early costs nothing: each answer is sent once per key.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import getaddresses
from typing import Any, Callable

from connector.helpdesk.json_api import JsonApi
from connector.helpdesk.port import AgentReply, FileToDeliver, Person
from connector.helpdesk.zammad_articles import is_ours, keys_in
from connector.helpdesk.zammad_users import person_of
from connector.mail.html_text import html_to_text

CLOCK_SKEW = timedelta(minutes=2)


class Replies:
    def __init__(self, api: JsonApi, own_user_id: Callable[[], int]):
        self._api, self._own_user_id = api, own_user_id

    def of(self, ticket_id: int, since: datetime) -> list[AgentReply]:
        articles = self._api.get(f"/api/v1/ticket_articles/by_ticket/{ticket_id}") or []
        key = ticket_key(articles)
        if key is None:
            return []       # not a ticket the connector opened: its answers are not ours to send
        own = self._own_user_id()
        after = min([_aware(since) - CLOCK_SKEW] + [when(a.get("created_at")) for a in articles])
        people: dict[int, Person] = {}
        answers = [a for a in articles if _is_answer(a, own) and when(a.get("created_at")) >= after]
        return [self._reply(ticket_id, key, article, people) for article in sorted(answers, key=lambda a: int(a["id"]))]

    def _reply(self, ticket_id: int, key: str, article: dict[str, Any], people: dict[int, Person]) -> AgentReply:
        author = person_of(self._api, article.get("created_by_id"), str(article.get("created_by") or ""), people)
        return AgentReply(key=f"article-{int(article['id'])}", remote_ticket_id=str(ticket_id), ticket_key=key,
                          author=author, body_text=_text(article), created_at=when(article.get("created_at")),
                          attachments=self._files(ticket_id, article), cc=_cc(article.get("cc")))

    def _files(self, ticket_id: int, article: dict[str, Any]) -> tuple[FileToDeliver, ...]:
        files = []
        for item in article.get("attachments") or []:
            preferences = item.get("preferences") or {}
            response = self._api.request(
                "GET", f"/api/v1/ticket_attachment/{ticket_id}/{int(article['id'])}/{int(item['id'])}",
                headers={"Accept": "*/*"})
            kind = str(preferences.get("Mime-Type") or preferences.get("Content-Type") or "application/octet-stream")
            content_id = str(preferences.get("Content-ID") or "").strip("<>") or None
            inline = str(preferences.get("Content-Disposition") or "").lower() == "inline"
            files.append(FileToDeliver(str(item.get("filename") or f"attachment-{item['id']}"), kind,
                                       response.content, inline=inline, content_id=content_id))
        return tuple(files)


def ticket_key(articles: list[dict[str, Any]]) -> str | None:
    """Our ticket key, from the `references` of an article the connector wrote."""
    for article in articles:
        if is_ours(article):
            found = keys_in(article.get("references"))
            if found:
                return found[0]
    return None


def _is_answer(article: dict[str, Any], own: int) -> bool:
    return (article.get("sender") == "Agent" and article.get("internal") is False and not is_ours(article)
            and article.get("created_by_id") != own)


def _text(article: dict[str, Any]) -> str:
    body = str(article.get("body") or "")
    if str(article.get("content_type") or "").lower().startswith("text/html"):
        body = html_to_text(body)
    return body.strip()


def _cc(value: Any) -> tuple[Person, ...]:
    """The one-time Cc an agent typed on an email answer."""
    found = getaddresses([str(value)]) if value else []
    emails = dict.fromkeys((email.strip().lower(), name) for name, email in found if "@" in email)
    return tuple(Person(name, email) for email, name in emails)


def when(value: Any) -> datetime:
    """Zammad's timestamps ("2021-08-03T09:57:18.121Z") as aware datetimes."""
    try:
        return _aware(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
