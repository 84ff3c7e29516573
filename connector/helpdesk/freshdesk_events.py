"""Agents' answers in Freshdesk: the automation rule's webhook call, then the ticket's conversation read back.

Freshdesk's webhooks cannot sign, so the rule calls https://CONNECTOR/helpdesk/events/SECRET and its
body is what the operator wrote in the rule: {"ticket_id": "{{ticket.id}}"} (docs: helpdesk guide).
An answer is an agent's PUBLIC NOTE: a Reply is mailed to the customer by Freshdesk itself, so the
connector never sends it a second time; private notes stay internal; the connector's own posts
(written by its agent, credited to the customer as incoming, or carrying its footer) are skipped.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from connector.helpdesk.event_auth import require_path_secret
from connector.helpdesk.freshdesk_api import FreshdeskApi
from connector.helpdesk.freshdesk_content import ticket_key, ticket_number, when, written_by_us
from connector.helpdesk.freshdesk_directory import Directory
from connector.helpdesk.port import AgentReply, EventRefused, FileToDeliver, Person, WebhookCall
from connector.mail.html_text import html_to_text

NOTE = 2                # conversation source: "Reply 0, Note 2" (Conversations, Conversation Properties)
CLOCK_SKEW = timedelta(minutes=2)
_BODY_HINT = 'the rule\'s webhook content must be {"ticket_id": "{{ticket.id}}"} (JSON)'


def tickets_in_event(call: WebhookCall, secret: str) -> list[str]:
    require_path_secret(call, secret)
    try:
        body = json.loads(call.body or b"")
    except ValueError:
        raise EventRefused(f"the call's body is not JSON: {_BODY_HINT}") from None
    # Advanced content is what the operator wrote; simple content nests under "freshdesk_webhook".
    found = _ticket_id(body) if isinstance(body, dict) else None
    if found is None and isinstance(body, dict) and isinstance(body.get("freshdesk_webhook"), dict):
        found = _ticket_id(body["freshdesk_webhook"])
    if found is None:
        raise EventRefused(f"the call names no ticket: {_BODY_HINT}")
    return [found]


def _ticket_id(body: dict[str, Any]) -> str | None:
    value = body.get("ticket_id")
    if value is None and isinstance(body.get("ticket"), dict):
        value = body["ticket"].get("id")
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    return str(int(text)) if text.isascii() and text.isdigit() else None


class Replies:
    def __init__(self, api: FreshdeskApi, directory: Directory):
        self._api, self._directory = api, directory

    def since(self, remote_ticket_id: str, since: datetime) -> list[AgentReply]:
        number = ticket_number(remote_ticket_id)
        response = self._api.request("GET", f"/tickets/{number}", ok=(200, 404))
        ticket = (self._api.json(response) or {}) if response.status_code == 200 else {}
        key = ticket_key(ticket.get("tags"))
        if key is None:
            return []       # gone, or not a ticket the connector opened: Freshdesk's own business
        # `since` is this machine's clock, Freshdesk stamps whole seconds by its own; no answer predates
        # the ticket, so answers count from whichever is earlier: `since` less a margin, or the ticket's
        # creation. Each answer is sent once per key, so reading a little early costs nothing.
        after = (since if since.tzinfo else since.replace(tzinfo=timezone.utc)) - CLOCK_SKEW
        if ticket.get("created_at"):
            after = min(after, when(ticket["created_at"]))
        me = self._directory.me().get("id")
        people: dict[int, Person] = {}
        replies = []
        for item in self._api.pages(f"/tickets/{number}/conversations"):
            if _is_answer(item, me) and when(item.get("created_at")) >= after:
                reply = self._reply(item, number, key, people)
                if reply is not None:
                    replies.append(reply)
        return sorted(replies, key=lambda reply: (reply.created_at, reply.key))

    def _reply(self, item: dict, number: int, key: str, people: dict) -> AgentReply | None:
        body = str(item.get("body") or "")
        text = html_to_text(body) if body else str(item.get("body_text") or "").strip()
        files = tuple(FileToDeliver(str(a.get("name") or f"attachment-{a.get('id')}"),
                                    str(a.get("content_type") or "application/octet-stream"),
                                    self._api.download(str(a["attachment_url"])))
                      for a in item.get("attachments") or [] if a.get("attachment_url"))
        if not text and not files:
            return None
        author = self._directory.agent(int(item["user_id"]), people) if item.get("user_id") else Person("", "")
        return AgentReply(key=f"conversation-{int(item['id'])}", remote_ticket_id=str(number), ticket_key=key,
                          author=author, body_text=text, created_at=when(item.get("created_at")), attachments=files)


def _is_answer(item: dict, me: Any) -> bool:
    return (item.get("source") == NOTE and item.get("private") is False and not item.get("incoming")
            and item.get("user_id") != me and not written_by_us(item))
