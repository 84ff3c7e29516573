"""Agents' public answers on a FreeScout conversation, read back for the connector to send through Gmail.

An answer is a published thread of type "message" created by a user
(https://api-docs.freescout.net/#get-conversation: thread `type` customer/message/note/lineitem...,
`state` draft/published, `createdBy.type` user/customer). Notes, drafts, line items, forwards and
every thread carrying our key marker (what the connector wrote) are left out.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from connector.helpdesk.freescout_api import FreeScoutApi, when
from connector.helpdesk.freescout_content import markers_in
from connector.helpdesk.port import AgentReply, FileToDeliver, Person
from connector.mail.html_text import html_to_text

# FreeScout's dates have whole seconds and its clock is not ours: an answer written in the second
# the ticket was linked, on a server a little behind, is still after `since`. Sent once per key anyway.
CLOCK_SLACK = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def agent_replies(api: FreeScoutApi, conversation: dict, since: datetime) -> list[AgentReply]:
    threads = sorted(_threads(conversation), key=lambda t: (when(t.get("createdAt")) or _EPOCH, int(t["id"])))
    ticket_key = next((key for t in threads for kind, key in markers_in(str(t.get("body") or ""))
                       if kind == "ticket"), None)
    known = _known_addresses(conversation, threads)
    after = (since if since.tzinfo else since.replace(tzinfo=timezone.utc)) - CLOCK_SLACK
    replies = []
    for thread in threads:
        created = when(thread.get("createdAt"))
        if not _is_answer(thread) or created is None or created < after:
            continue
        body = html_to_text(str(thread.get("body") or "")).strip()
        files = tuple(_file(api, item) for item in (thread.get("_embedded") or {}).get("attachments") or []
                      if isinstance(item, dict) and item.get("fileUrl"))
        if not body and not files:
            continue
        cc = tuple(Person("", a) for a in dict.fromkeys(str(e).strip().lower() for e in thread.get("cc") or [])
                   if "@" in a and a not in known)
        replies.append(AgentReply(key=f"thread-{int(thread['id'])}", remote_ticket_id=str(conversation["id"]),
                                  ticket_key=ticket_key, author=_person(thread.get("createdBy") or {}),
                                  body_text=body, created_at=created, attachments=files, cc=cc))
    return replies


def _is_answer(thread: dict) -> bool:
    return (thread.get("type") == "message" and thread.get("state", "published") == "published"
            and (thread.get("createdBy") or {}).get("type") == "user"
            and not markers_in(str(thread.get("body") or "")))


def _known_addresses(conversation: dict, threads: list[dict]) -> set[str]:
    """The customer and the Cc the customer's own mail carried: FreeScout's reply form fills them in,
    so only the addresses an agent typed beyond them are one-time Cc."""
    known = {str((conversation.get("customer") or {}).get("email") or "").lower()}
    for thread in threads:
        if thread.get("type") == "customer":
            known.update(str(e).strip().lower() for e in thread.get("cc") or [])
            known.add(str((thread.get("customer") or {}).get("email") or "").lower())
    return known


def _person(who: dict) -> Person:
    name = " ".join(str(who.get(part) or "").strip() for part in ("firstName", "lastName")).strip()
    return Person(name, str(who.get("email") or "").strip().lower())


def _file(api: FreeScoutApi, item: dict) -> FileToDeliver:
    return FileToDeliver(str(item.get("fileName") or "attachment"),
                         str(item.get("mimeType") or "application/octet-stream"), api.download(str(item["fileUrl"])))


def _threads(conversation: dict) -> list[dict]:
    threads = (conversation.get("_embedded") or {}).get("threads") or []
    return [t for t in threads if isinstance(t, dict) and str(t.get("id", "")).isdigit()]
