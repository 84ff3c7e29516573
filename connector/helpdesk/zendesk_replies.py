"""Agents' public answers on a Zendesk ticket, read back from its comments for the connector to send via Gmail.

An answer is a public comment whose author is an agent or admin (the users side-loaded with
include=users), not the connector's own API user, and not a comment the connector wrote: those
carry our key in their audit's metadata, which also covers a customer who happens to be an agent.
(https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments,
https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/#list-audits-for-a-ticket)
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from connector.helpdesk.port import AgentReply, FileToDeliver, Person
from connector.helpdesk.zendesk_api import ZendeskApi
from connector.helpdesk.zendesk_content import KEY_METADATA
from connector.mail.html_text import html_to_text

AGENT_ROLES = ("agent", "admin")
# Zendesk stamps whole seconds by its own clock; `since` is this machine's. No answer can predate the
# ticket, so answers count from whichever is earlier: `since` (less a skew margin) or the ticket's
# creation by Zendesk's clock. Each answer is sent once per key, so reading a little early costs nothing.
CLOCK_SKEW = timedelta(minutes=2)


def keyed_audits(api: ZendeskApi, number: int) -> Iterator[dict[str, Any]]:
    """The audits of the ticket the connector wrote: their id, our key and their comment's id."""
    for page in api.pages(f"/api/v2/tickets/{number}/audits"):
        for audit in page.get("audits") or []:
            key = ((audit.get("metadata") or {}).get("custom") or {}).get(KEY_METADATA)
            if key:
                comment = next((e for e in audit.get("events") or [] if e.get("type") == "Comment"), {})
                yield {"audit_id": audit.get("id"), "key": str(key),
                       "comment_id": str(comment["id"]) if comment.get("id") else None}


def replies_since(api: ZendeskApi, number: int, since: datetime) -> list[AgentReply]:
    response = api.request("GET", f"/api/v2/tickets/{number}", ok=(200, 404))
    if response.status_code == 404:
        return []           # deleted, or not visible to the API user: nothing to send
    ticket = (api.json(response) or {}).get("ticket") or {}
    ours = {audit["audit_id"] for audit in keyed_audits(api, number)}
    after = _aware(since) - CLOCK_SKEW
    if ticket.get("created_at"):
        after = min(after, _when(ticket["created_at"]))
    me = api.me().get("id")
    replies = []
    for page in api.pages(f"/api/v2/tickets/{number}/comments",
                          {"include": "users", "include_inline_images": "true"}):
        users = {user.get("id"): user for user in page.get("users") or []}
        for item in page.get("comments") or []:
            author = users.get(item.get("author_id")) or {}
            if (not item.get("public") or item.get("audit_id") in ours or item.get("author_id") == me
                    or author.get("role") not in AGENT_ROLES or item.get("type", "Comment") != "Comment"
                    or _when(item.get("created_at")) < after):
                continue
            reply = _reply(api, number, ticket, item, author)
            if reply.body_text or reply.attachments:
                replies.append(reply)
    return sorted(replies, key=lambda reply: (reply.created_at, reply.key))


def _reply(api: ZendeskApi, number: int, ticket: dict, item: dict, author: dict) -> AgentReply:
    html = item.get("html_body")
    text = html_to_text(html) if html else str(item.get("plain_body") or item.get("body") or "")
    files = tuple(FileToDeliver(str(a.get("file_name") or f"attachment-{a.get('id')}"),
                                str(a.get("content_type") or "application/octet-stream"),
                                api.download(str(a["content_url"])), inline=bool(a.get("inline")))
                  for a in item.get("attachments") or []
                  if a.get("content_url") and not a.get("deleted")
                  and a.get("malware_scan_result") != "malware_found")
    return AgentReply(key=f"comment-{int(item['id'])}", remote_ticket_id=str(number),
                      ticket_key=ticket.get("external_id") or None,
                      author=Person(str(author.get("name") or ""), str(author.get("email") or "").lower()),
                      body_text=text.strip(), created_at=_when(item.get("created_at")), attachments=files)


def _when(value: Any) -> datetime:
    """Zendesk's ISO 8601 times ("2024-05-01T12:00:05Z") as aware datetimes."""
    return _aware(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)    # the store keeps UTC
