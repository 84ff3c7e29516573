"""Agents' answers in django-helpdesk: its webhook calls checked, then the ticket's follow-ups read back.

django-helpdesk cannot sign its webhook calls (helpdesk/webhooks.py POSTs
`{"ticket": {...}, "queue_slug": ..., "followup_id": ...}` to each configured URL), so the URL
carries HELPDESK_WEBHOOK_SECRET: /helpdesk/events/SECRET. An agent's answer is a public follow-up
with a user (django-helpdesk records a user only for staff) that is not the connector's own: the
connector's user is the author of the ticket's opening follow-up, and everything it writes also
carries its marker line. Private follow-ups are notes and never answers.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.helpdesk.django_helpdesk_api import DjangoHelpdeskApi
from connector.helpdesk.django_helpdesk_content import find_marker
from connector.helpdesk.event_auth import require_path_secret
from connector.helpdesk.port import (AgentReply, EventRefused, FileToDeliver, HelpdeskUnavailable, Person,
                                     WebhookCall)

CLOCK_SKEW = timedelta(minutes=5)


def tickets_in_event(call: WebhookCall, secret: str) -> list[str]:
    require_path_secret(call, secret)
    try:
        body = json.loads(call.body or b"")
    except ValueError:
        raise EventRefused("the call's body is not JSON: not django-helpdesk's webhook") from None
    ticket = body.get("ticket") if isinstance(body, dict) else None
    number = ticket.get("id") if isinstance(ticket, dict) else None
    if isinstance(number, bool) or not isinstance(number, int):
        raise EventRefused('the call\'s body has no "ticket" with an "id": not django-helpdesk\'s webhook')
    return [str(number)]


def ticket_replies(api: DjangoHelpdeskApi, number: int, since: datetime) -> list[AgentReply]:
    ticket = api.ticket(number)
    marker = find_marker(ticket.get("description"))
    followups = sorted(ticket.get("followup_set") or [], key=lambda item: (when(item.get("date")), item["id"]))
    ours = followups[0].get("user") if followups and marker and marker.ticket else None
    since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    # `since` is this machine's clock, the dates are django-helpdesk's. No answer predates the ticket,
    # so answers count from whichever is earlier: `since` less a skew margin, or the ticket's opening.
    after = min([since - CLOCK_SKEW] + [when(item.get("date")) for item in followups[:1]])
    replies = []
    for item in followups:
        if not _is_answer(item, ours) or when(item.get("date")) <= after:
            continue
        files = tuple(_download(api, part) for part in item.get("followupattachment_set") or [])
        text = str(item.get("comment") or "").strip()
        if not text and not files:
            continue    # a status change without a word
        replies.append(AgentReply(key=f"followup-{int(item['id'])}", remote_ticket_id=str(number),
                                  ticket_key=marker.ticket if marker else None,
                                  author=Person(f"django-helpdesk user {item.get('user')}", ""), body_text=text,
                                  created_at=when(item.get("date")), attachments=files))
    return replies


def _is_answer(item: dict[str, Any], ours: Any) -> bool:
    if not item.get("public") or item.get("user") is None:
        return False        # a note, or written by no staff member (mail in, the public form)
    return item.get("user") != ours and find_marker(item.get("comment")) is None


def _download(api: DjangoHelpdeskApi, part: dict[str, Any]) -> FileToDeliver:
    link = str(part.get("file") or "")
    if not link.startswith(("http://", "https://")):
        link = api.where + "/" + link.lstrip("/")
    if urlsplit(link).netloc == urlsplit(api.where).netloc:
        payload = api.request("GET", link, ok=(200,)).content
    else:   # media on another host (a CDN, object storage): no credentials of ours go there
        payload = _fetch_elsewhere(api, link)
    return FileToDeliver(str(part.get("filename") or link.rsplit("/", 1)[-1]),
                         str(part.get("mime_type") or "application/octet-stream"), payload)


def _fetch_elsewhere(api: DjangoHelpdeskApi, link: str) -> bytes:
    try:
        response = api.session.get(link, timeout=api.timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise HelpdeskUnavailable(f"an attachment of django-helpdesk at {urlsplit(link).netloc} is unreachable "
                                  f"({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise api.error("GET", link, response)
    return response.content


def when(value: Any) -> datetime:
    """A follow-up's `date` ("2026-12-01T15:40:48.772172Z") as an aware datetime."""
    found = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)
