"""Agents' public answers in Request Tracker, read back through REST 2.0 for the connector to send through Gmail.

The cursor is a transaction id: RT's ids only grow, so "Correspond transactions with id > LAST" is
the whole state (docs/request-tracker.md, section 5). Each call examines at most `limit` of them,
oldest first, and returns the id of the last one examined, skipped ones included, so a caller that
commits the cursor never sees a skipped transaction again.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import Any
from urllib.parse import quote

from connector.helpdesk.port import AgentReply, FileToDeliver, Person
from connector.helpdesk.rt_requests import RTClient
from connector.mail.html_text import html_to_text

PAGE = 100                                  # REST 2.0 caps per_page at 100
# `__CurrentUser__` is TransactionSQL's own "the user asking" (RT/Transactions.pm): it excludes the
# connector's correspondence (the customers' mail it delivered) whether it signs in with a password
# or a token, without looking its name up. Comments are left out by Type = 'Correspond'.
_ANSWERS = "ObjectType = 'RT::Ticket' AND Type = 'Correspond' AND Creator != '__CurrentUser__' AND id > {after}"
_FIELDS = "ObjectId,Creator,Created,CustomFields"
_BODY_TYPES = ("text/plain", "text/html")   # text first: an answer mailed to RT may carry both


class Replies:
    def __init__(self, rt: RTClient, key_field: str, message_key_field: str):
        self._rt, self.key_field, self.message_key_field = rt, key_field, message_key_field

    def since(self, after: str | None, limit: int) -> tuple[list[AgentReply], str | None]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if after is None:
            return [], self._now()
        text = str(after).strip()
        if not (text.isascii() and text.isdigit()):
            raise ValueError(f"{after!r} is not an RT transaction cursor")
        cursor, examined, replies = int(text), 0, []
        tickets: dict[str, str | None] = {}     # per call: a ticket's key or an agent's name may change
        people: dict[str, tuple[Person, bool]] = {}
        while examined < limit:
            want = min(PAGE, limit - examined)
            items = self._rt.get("/transactions", {"query": _ANSWERS.format(after=cursor), "orderby": "id",
                                                   "order": "ASC", "per_page": want, "fields": _FIELDS}
                                 ).get("items") or []
            for item in items:
                reply = self._reply(item, tickets, people)
                if reply is not None:
                    replies.append(reply)
                cursor = max(cursor, int(item["id"]))
            examined += len(items)
            # A short page is the end: with RT's default $UseSQLForACLChecks the rights on tickets are
            # checked in SQL, so RT drops no Correspond row after paging (it does drop EmailRecords).
            if len(items) < want:
                break
        return replies, str(cursor)

    def _now(self) -> str:
        """The newest correspondence the connector can see: every answer after it is newer.
        Not the newest transaction of all: REST 2.0 pages first and then drops what the user may
        not see (outgoing-mail records, other objects), so a page of those comes back empty."""
        newest = self._rt.get("/transactions", {"query": "ObjectType = 'RT::Ticket' AND Type = 'Correspond'",
                                                "orderby": "id", "order": "DESC", "per_page": 1}).get("items") or []
        return str(newest[0]["id"]) if newest else "0"

    def _reply(self, item: dict[str, Any], tickets: dict, people: dict) -> AgentReply | None:
        if _values(item, self.message_key_field):
            return None     # the connector keys every message it writes: ours, whoever RT says wrote it
        number = str(item.get("ObjectId") or "")
        if number not in tickets:
            tickets[number] = self._ticket_key(number)
        if tickets[number] is None:
            return None     # not a ticket the connector opened: RT's own business
        name = str((item.get("Creator") or {}).get("id") or "")
        if name not in people:
            people[name] = self._person(name)
        author, agent = people[name]
        if not agent:
            return None     # an unprivileged user (a customer on RT's self-service pages) is no agent
        parts = self._rt.get(f"/transaction/{int(item['id'])}/attachments",
                             {"fields": "ContentType,Filename,Headers,ContentLength", "orderby": "id",
                              "order": "ASC", "per_page": PAGE}).get("items") or []
        body, files = self._body(parts), self._files(parts)
        if not body and not files:
            return None
        return AgentReply(key=f"txn-{int(item['id'])}", remote_ticket_id=number, ticket_key=tickets[number],
                          author=author, body_text=body, created_at=_when(item.get("Created")),
                          attachments=files, cc=_cc(parts[0].get("Headers") or "") if parts else ())

    def _ticket_key(self, number: str) -> str | None:
        response = self._rt.request("GET", f"/ticket/{int(number)}", ok=(200, 403, 404))
        if response.status_code != 200:
            return None     # gone, or not visible to the connector: not one of its tickets
        found = _values(self._rt.json(response), self.key_field)
        return str(found[0]) if found else None

    def _person(self, name: str) -> tuple[Person, bool]:
        response = self._rt.request("GET", f"/user/{quote(name, safe='@')}", ok=(200, 403, 404))
        if response.status_code != 200:
            return Person(name, ""), True
        user = self._rt.json(response)
        email = str(user.get("EmailAddress") or "").strip().lower()
        return Person(str(user.get("RealName") or user.get("Name") or name), email), bool(user.get("Privileged", 1))

    def _body(self, parts: list[dict]) -> str:
        for wanted in _BODY_TYPES:
            for part in parts:
                if part.get("Filename") or str(part.get("ContentType", "")).lower() != wanted:
                    continue
                text = self._content(part).decode("utf-8", errors="replace")   # RT stores text as UTF-8
                return (html_to_text(text) if wanted == "text/html" else text).strip()
        return ""

    def _files(self, parts: list[dict]) -> tuple[FileToDeliver, ...]:
        files = []
        for part in parts:
            kind = str(part.get("ContentType") or "application/octet-stream")
            if not part.get("Filename") or kind.lower().startswith("multipart/"):
                continue
            files.append(FileToDeliver(str(part["Filename"]), kind, self._content(part)))
        return tuple(files)

    def _content(self, part: dict) -> bytes:
        if str(part.get("ContentLength", "")) == "0":
            return b""
        return base64.b64decode(self._rt.get(f"/attachment/{int(part['id'])}").get("Content") or "")


def _values(record: dict[str, Any], field: str) -> list:
    return next((cf.get("values") or [] for cf in record.get("CustomFields") or [] if cf.get("name") == field), [])


def _cc(headers: str) -> tuple[Person, ...]:
    """The one-time Cc an agent typed, from RT's RT-Send-Cc header on the message's top part.
    RT-Send-Bcc is ignored on purpose: blind copies must never turn into visible Cc."""
    found = HeaderParser().parsestr(headers).get_all("RT-Send-Cc") or []
    emails = dict.fromkeys(email.strip().lower() for _, email in getaddresses([str(v) for v in found]))
    return tuple(Person("", email) for email in emails if "@" in email)


def _when(value: Any) -> datetime:
    """RT's `Created` (UTC, "2026-12-01T13:24:36Z") as an aware datetime."""
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
