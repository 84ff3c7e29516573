"""A stateful Freshdesk behind `responses`: agents, groups, contacts, tickets, conversations and files in dicts.

Every answer has the shape of Freshdesk's API v2 reference, https://developers.freshdesk.com/api/
(the section is named at each), so tests assert on what Freshdesk ends up holding. Agents act
through helpers (`agent_note`, `agent_reply`, `solve`), the automation rule's webhook call comes
from `webhook_call`. `fail` and `lose_answer` inject refusals and answers lost after Freshdesk did
the work; the search index lags (`index` catches it up), as the Filter Tickets section warns.
"""
from __future__ import annotations

import base64
import email.policy
import itertools
import json
import re
import time
from datetime import datetime, timedelta, timezone
from email.parser import BytesParser
from html import unescape
from typing import Any, Callable
from urllib.parse import parse_qs, quote, urlsplit

import requests
import responses

from connector.helpdesk.port import WebhookCall

URL = "https://example.freshdesk.com"
FILES = "https://s3.amazonaws.com/fake-freshdesk"   # where attachment_url points (a signed link, no API key)
KEY = "fd-api-key-3b9f0c-do-not-leak"
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
Reply = tuple[int, dict, str]
# Create a Ticket / Create a Note: the parameters each accepts (anything else is "invalid_field").
TICKET_FIELDS = {"name", "requester_id", "email", "phone", "subject", "type", "status", "priority", "description",
                 "responder_id", "cc_emails", "custom_fields", "group_id", "source", "tags", "attachments"}
NOTE_FIELDS = {"body", "incoming", "notify_emails", "private", "user_id", "attachments"}


class FreshdeskFake:
    def __init__(self, url: str = URL, key: str = KEY, *, admin: bool = True, list_tags: bool = False,
                 start: datetime = START):
        self.url, self.key, self.admin, self.list_tags = url, key, admin, list_tags
        self.agents: dict[int, dict] = {}
        self.groups: dict[int, dict] = {}
        self.contacts: dict[int, dict] = {}
        self.tickets: dict[int, dict] = {}
        self.conversations: dict[int, list[dict]] = {}
        self.files: dict[int, bytes] = {}
        self.indexed: set[int] = set()           # tickets the search index has caught up with
        self.mailed: list[dict] = []             # what Freshdesk itself emailed to customers
        self.file_fetches: list[dict] = []       # headers of each download from FILES
        self.failures: list[tuple[str, str, Reply]] = []
        self.losses: list[tuple[str, str]] = []
        self._ids, self._now = itertools.count(5001), start
        self.me = self.add_agent("Connector Bot", "connector@example.com")
        self.support = self.add_group("Support")

    # -- what agents and admins do in Freshdesk -------------------------------------------------------
    def add_agent(self, name: str, email: str, scope: int = 1, group_ids: tuple[int, ...] = ()) -> int:
        # https://developers.freshdesk.com/api/ Agents > View an Agent
        aid = next(self._ids)
        self.agents[aid] = {"available": True, "occasional": False, "signature": None, "id": aid,
                            "ticket_scope": scope, "group_ids": list(group_ids), "role_ids": [1], "skill_ids": [],
                            "created_at": self._stamp(), "updated_at": self._stamp(), "available_since": None,
                            "type": "support_agent", "contact": {"active": True, "email": email, "name": name,
                                                                 "language": "en", "time_zone": "UTC"}}
        return aid

    def add_group(self, name: str) -> int:
        # https://developers.freshdesk.com/api/ Groups > View a Group
        gid = next(self._ids)
        self.groups[gid] = {"id": gid, "name": name, "description": name, "business_hour_id": None,
                            "escalate_to": None, "unassigned_for": "30m", "agent_ids": [], "auto_ticket_assign": 0,
                            "created_at": self._stamp(), "updated_at": self._stamp()}
        return gid

    def agent_note(self, ticket_id: int, agent_id: int, html: str, *, private: bool = False,
                   files: tuple[tuple[str, bytes, str], ...] = ()) -> dict:
        return self._conversation(ticket_id, {"body": html, "private": private, "user_id": agent_id}, list(files))

    def agent_reply(self, ticket_id: int, agent_id: int, html: str) -> dict:
        """Create a Reply: Freshdesk mails it to the requester (source 0)."""
        item = self._conversation(ticket_id, {"body": html, "private": False, "user_id": agent_id}, [], source=0)
        self.mailed.append({"to": self._requester(ticket_id), "body": html})
        return item

    def portal_ticket(self, email: str, subject: str) -> int:
        """A ticket made in Freshdesk itself (the portal, a phone call): not the connector's."""
        return self._new_ticket({"email": email, "subject": subject, "description": f"<div>{subject}</div>"}, [])["id"]

    def solve(self, ticket_id: int, status: int = 4) -> None:
        self.tickets[ticket_id]["status"] = status

    def index(self) -> None:
        """The search index catches up ("updates will take a few minutes to get indexed")."""
        self.indexed = set(self.tickets)

    def webhook_call(self, ticket_id: int | str, secret: str | None, body: bytes | None = None) -> WebhookCall:
        """What the automation rule's "Trigger webhook" POSTs with the advanced JSON content the guide
        documents, to /helpdesk/events/SECRET (Freshdesk webhooks cannot sign)."""
        payload = body if body is not None else json.dumps({"ticket_id": str(ticket_id)}).encode()
        return WebhookCall({"content-type": "application/json"}, payload, secret, time.time())

    def fail(self, method: str, path: str, status: int, body: dict | str, headers: dict | None = None) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.failures.append((method, path, (status, {"Content-Type": "application/json", **(headers or {})}, text)))

    def lose_answer(self, method: str, path: str) -> None:
        """The next such request does its work in Freshdesk, then the client gets ConnectionError."""
        self.losses.append((method, path))

    def ticket_conversations(self, ticket_id: int) -> list[dict]:
        return self.conversations.get(ticket_id, [])

    def contact_email(self, user_id: int) -> str:
        user = self.contacts.get(user_id) or (self.agents.get(user_id) or {}).get("contact") or {}
        return str(user.get("email") or "")

    def attachment_bytes(self, attachment: dict) -> bytes:
        return self.files[attachment["id"]]

    # -- wiring ---------------------------------------------------------------------------------------
    def install(self, mock: responses.RequestsMock) -> None:
        for method in ("GET", "POST", "PUT"):
            mock.add_callback(method, re.compile(re.escape(self.url) + r"/.*"), callback=self._dispatch)
        mock.add_callback("GET", re.compile(re.escape(FILES) + r"/.*"), callback=self._file)

    def _dispatch(self, request: requests.PreparedRequest) -> Reply:
        parts = urlsplit(request.url)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(f"{self.key}:X".encode()).decode():
            # https://developers.freshdesk.com/api/ Errors: 401 Authentication Failure, code invalid_credentials
            return _json(401, {"code": "invalid_credentials", "message": "You have to be logged in to perform "
                                                                         "this action."})
        for index, (method, pattern, reply) in enumerate(self.failures):
            if method == request.method and re.fullmatch(pattern, path):
                del self.failures[index]
                return reply
        for route_method, pattern, handler in self._routes():
            found = re.fullmatch(pattern, path)
            if route_method == request.method and found:
                reply = handler(request, query, *found.groups())
                self._maybe_lose(request.method, path)
                return reply
        return 404, {}, ""

    def _maybe_lose(self, method: str, path: str) -> None:
        for index, (lose_method, pattern) in enumerate(self.losses):
            if lose_method == method and re.fullmatch(pattern, path):
                del self.losses[index]
                raise requests.ConnectionError("Connection aborted: the answer was lost")

    def _routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        n, api = r"(\d+)", "/api/v2"
        return [("GET", f"{api}/agents/me", lambda r, q: _json(200, self.agents[self.me])),
                ("GET", f"{api}/agents/{n}", self._show_agent), ("GET", f"{api}/groups", self._list_groups),
                ("GET", f"{api}/ticket_fields", self._ticket_fields), ("GET", f"{api}/contacts", self._contacts),
                ("POST", f"{api}/contacts", self._create_contact), ("POST", f"{api}/tickets", self._create_ticket),
                ("GET", f"{api}/tickets", self._list_tickets), ("GET", f"{api}/search/tickets", self._search),
                ("GET", f"{api}/tickets/{n}", self._show_ticket), ("PUT", f"{api}/tickets/{n}", self._update),
                ("POST", f"{api}/tickets/{n}/notes", self._create_note),
                ("POST", f"{api}/tickets/{n}/reply", self._create_reply),
                ("GET", f"{api}/tickets/{n}/conversations", self._list_conversations)]

    # -- Agents, Groups, Ticket Fields, Contacts ------------------------------------------------------
    def _show_agent(self, request, query, aid) -> Reply:
        if not self.admin:      # "All Agent APIs other than the Currently Authenticated Agent API require admin"
            return _denied()
        return _json(200, self.agents[int(aid)]) if int(aid) in self.agents else (404, {}, "")

    def _list_groups(self, request, query) -> Reply:
        # https://developers.freshdesk.com/api/
        # Groups > List All Groups ("Only users with admin privileges can access the following APIs")
        return _json(200, _page(list(self.groups.values()), query)) if self.admin else _denied()

    def _ticket_fields(self, request, query) -> Reply:
        # https://developers.freshdesk.com/api/
        # Tickets > List All Ticket Fields: the default `group` field's choices are {name: id}
        choices = {g["name"]: g["id"] for g in self.groups.values()}
        field = {"id": 7, "description": "Ticket group", "label": "Group", "name": "group", "position": 15,
                 "type": "default_group", "default": True, "choices": choices}
        return _json(200, [field] if query.get("type") in (None, "default_group") else [])

    def _contacts(self, request, query) -> Reply:
        # https://developers.freshdesk.com/api/ Contacts > List All Contacts, filtered by email
        wanted = query.get("email", "").lower()
        return _json(200, [c for c in self.contacts.values() if not wanted or c["email"] == wanted])

    def _create_contact(self, request, query) -> Reply:
        body = json.loads(request.body)
        email = str(body.get("email") or "").lower()
        taken = [c for c in self.contacts.values() if c["email"] == email]
        if taken or any(a["contact"]["email"] == email for a in self.agents.values()):
            # https://developers.freshdesk.com/api/ Errors: 409 Inconsistent/Conflicting State, code duplicate_value
            return _json(409, _validation("email", "It should be a unique value", "duplicate_value"))
        return _json(201, self._contact(email, str(body.get("name") or email)))

    def _contact(self, email: str, name: str) -> dict:
        # https://developers.freshdesk.com/api/ Contacts > Create a Contact (response)
        cid = next(self._ids)
        self.contacts[cid] = {"active": False, "address": None, "company_id": None, "description": None,
                              "email": email, "id": cid, "job_title": None, "language": "en", "mobile": None,
                              "name": name, "phone": None, "time_zone": "UTC", "twitter_id": None,
                              "other_emails": [], "created_at": self._stamp(), "updated_at": self._stamp(),
                              "tags": [], "avatar": None}
        return self.contacts[cid]

    # -- Tickets --------------------------------------------------------------------------------------
    def _create_ticket(self, request, query) -> Reply:
        fields, files = _form(request)
        refused = self._invalid_ticket(fields)
        if refused:
            return refused
        ticket = self._new_ticket(fields, files)
        return _json(201, ticket, {"Location": f"{self.url}/api/v2/tickets/{ticket['id']}"})

    def _new_ticket(self, fields: dict, files: list) -> dict:
        email = str(fields.get("email", "")).lower()
        requester = next((c for c in self.contacts.values() if c["email"] == email), None) or \
            self._contact(email, str(fields.get("name") or email))
        tid, stamp = next(self._ids), self._stamp()
        # https://developers.freshdesk.com/api/ Tickets > Create a Ticket (response)
        self.tickets[tid] = {"cc_emails": fields.get("cc_emails", []), "fwd_emails": [], "reply_cc_emails": [],
                             "email_config_id": None, "group_id": _int(fields.get("group_id")), "priority":
                             _int(fields.get("priority", 1)), "requester_id": requester["id"], "responder_id": None,
                             "source": _int(fields.get("source", 2)), "status": _int(fields.get("status", 2)),
                             "subject": fields.get("subject"), "company_id": None, "id": tid, "type": None,
                             "to_emails": None, "product_id": None, "fr_escalated": False, "spam": False,
                             "urgent": False, "is_escalated": False, "created_at": stamp, "updated_at": stamp,
                             "due_by": stamp, "fr_due_by": stamp, "description": fields.get("description", ""),
                             "description_text": _text(fields.get("description", "")), "custom_fields": {},
                             "tags": list(fields.get("tags", [])),
                             "attachments": [self._file_record(*f) for f in files]}
        self.conversations[tid] = []
        return self.tickets[tid]

    def _invalid_ticket(self, fields: dict) -> Reply | None:
        unknown = sorted(set(fields) - TICKET_FIELDS)
        if unknown:
            return _json(400, _validation(unknown[0], "Unexpected/invalid field in request", "invalid_field"))
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(fields.get("email", ""))):
            return _json(400, _validation("email", "It should be a valid email address", "invalid_value"))
        if _int(fields.get("status", 2)) not in STATUS:
            return _json(400, _validation("status", "It should be one of these values: '2,3,4,5'", "invalid_value"))
        if fields.get("group_id") is not None and _int(fields["group_id"]) not in self.groups:
            return _json(400, _validation("group_id", "There is no group matching the given group_id",
                                          "invalid_value"))
        return None

    def _list_tickets(self, request, query) -> Reply:
        # https://developers.freshdesk.com/api/
        # Tickets > List All Tickets: newest first by default; tags and description are not in the
        # documented list shape, include=description adds the description.
        found = [t for t in self.tickets.values()
                 if "email" not in query or self._requester(t["id"]) == query["email"].lower()]
        found.sort(key=lambda t: (t["created_at"], t["id"]), reverse=query.get("order_type", "desc") == "desc")
        listed = [_listed(t, "description" in query.get("include", ""), self.list_tags) for t in found]
        return _json(200, _page(listed, query))

    def _search(self, request, query) -> Reply:
        # https://developers.freshdesk.com/api/
        # Tickets > Filter Tickets: {"total", "results"}, only what the index has caught up with
        wanted = re.fullmatch(r"\"tag:'([^']*)'\"", query.get("query", ""))
        if wanted is None:
            return _json(400, _validation("query", "It should be a valid query", "invalid_value"))
        hits = [_listed(t, True, False) for tid, t in self.tickets.items()
                if tid in self.indexed and wanted.group(1) in t["tags"]]
        return _json(200, {"total": len(hits), "results": hits[:30]})

    def _show_ticket(self, request, query, tid) -> Reply:
        return _json(200, self.tickets[int(tid)]) if int(tid) in self.tickets else (404, {}, "")

    def _update(self, request, query, tid) -> Reply:
        ticket, body = self.tickets.get(int(tid)), json.loads(request.body)
        if ticket is None:
            return 404, {}, ""
        if "status" in body and body["status"] not in STATUS:
            return _json(400, _validation("status", "It should be one of these values: '2,3,4,5'", "invalid_value"))
        ticket.update({k: v for k, v in body.items() if k in ("status", "priority", "group_id", "tags")})
        ticket["updated_at"] = self._stamp()
        return _json(200, ticket)

    # -- Conversations --------------------------------------------------------------------------------
    def _create_note(self, request, query, tid) -> Reply:
        fields, files = _form(request)
        unknown = sorted(set(fields) - NOTE_FIELDS)
        if int(tid) not in self.tickets:
            return 404, {}, ""
        if unknown:
            return _json(400, _validation(unknown[0], "Unexpected/invalid field in request", "invalid_field"))
        if not fields.get("body"):
            return _json(400, _validation("body", "Mandatory attribute missing", "missing_field"))
        user = _int(fields.get("user_id", self.me))
        if user not in self.contacts and user not in self.agents:
            return _json(400, _validation("user_id", "There is no contact matching the given user_id",
                                          "invalid_value"))
        note = self._conversation(int(tid), {**fields, "user_id": user}, files)
        # https://developers.freshdesk.com/api/ Conversations > Create a Note (response)
        return _json(201, {k: note[k] for k in ("body_text", "body", "id", "incoming", "private", "user_id",
                                                "support_email", "ticket_id", "attachments", "created_at",
                                                "updated_at")} | {"notified_to": []})

    def _create_reply(self, request, query, tid) -> Reply:
        fields, _ = _form(request)
        return _json(201, self.agent_reply(int(tid), _int(fields.get("user_id", self.me)), str(fields["body"])))

    def _list_conversations(self, request, query, tid) -> Reply:
        # https://developers.freshdesk.com/api/
        # Conversations > List All Conversations of a Ticket, oldest first, 30 a page by default
        return _json(200, _page(self.conversations.get(int(tid), []), query))

    def _conversation(self, tid: int, fields: dict, files: list, source: int = 2) -> dict:
        stamp = self._stamp()
        item = {"body_text": _text(str(fields["body"])), "body": str(fields["body"]), "id": next(self._ids),
                "incoming": _bool(fields.get("incoming", False)), "private": _bool(fields.get("private", True)),
                "user_id": _int(fields["user_id"]), "support_email": None, "source": source, "ticket_id": tid,
                "created_at": stamp, "updated_at": stamp, "from_email": None, "to_emails": [], "cc_emails": [],
                "bcc_emails": [], "attachments": [self._file_record(*f) for f in files], "last_edited_at": None,
                "last_edited_user_id": None}
        self.conversations[tid].append(item)
        return item

    # -- files ----------------------------------------------------------------------------------------
    def _file_record(self, name: str, data: bytes, kind: str) -> dict:
        # https://developers.freshdesk.com/api/
        # Create a Ticket With Attachment (response): name as sent, a signed attachment_url
        fid = next(self._ids)
        self.files[fid] = data
        return {"id": fid, "content_type": kind, "size": len(data), "name": name,
                "attachment_url": f"{FILES}/attachments/{fid}/{quote(name)}?X-Amz-Signature=fake",
                "created_at": self._stamp(), "updated_at": self._stamp()}

    def _file(self, request: requests.PreparedRequest) -> Reply:
        self.file_fetches.append(dict(request.headers))
        if "Authorization" in request.headers:     # a signed link refuses a second authentication
            return 400, {}, "<Error><Code>InvalidArgument</Code></Error>"
        found = re.search(r"/attachments/(\d+)/", request.url)
        data = self.files.get(int(found.group(1))) if found else None
        return (200, {"Content-Type": "application/octet-stream"}, data) if data is not None else (404, {}, "")

    def _requester(self, tid: int) -> str:
        return self.contacts[self.tickets[tid]["requester_id"]]["email"]

    def _stamp(self) -> str:
        self._now += timedelta(seconds=1)
        return self._now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _form(request: requests.PreparedRequest) -> tuple[dict, list[tuple[str, bytes, str]]]:
    """A request's fields and files: JSON, or multipart/form-data with `name[]` lists."""
    kind = request.headers.get("Content-Type", "")
    if not kind.startswith("multipart/form-data"):
        return json.loads(request.body or b"{}"), []
    message = BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + request.body)
    fields: dict[str, Any] = {}
    files = []
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        if part.get_filename() is not None:
            files.append((part.get_filename(), part.get_payload(decode=True), part.get_content_type()))
        elif name.endswith("[]"):
            fields.setdefault(name[:-2], []).append(part.get_payload(decode=True).decode())
        else:
            fields[name] = part.get_payload(decode=True).decode()
    return fields, files


def _listed(ticket: dict, description: bool, tags: bool) -> dict:
    hidden = {"attachments", "description", "description_text", "tags"}
    shown = {k: v for k, v in ticket.items() if k not in hidden}
    if description:
        shown |= {"description": ticket["description"], "description_text": ticket["description_text"]}
    return shown | ({"tags": ticket["tags"]} if tags else {})


def _page(items: list, query: dict) -> list:
    size, page = int(query.get("per_page", 30)), int(query.get("page", 1))
    return items[(page - 1) * size: page * size]


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<br\s*/?>|</p>|</div>", "\n", html))).strip()


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _validation(field: str, message: str, code: str) -> dict:
    # https://developers.freshdesk.com/api/ Errors > Sample Error
    return {"description": "Validation failed", "errors": [{"field": field, "message": message, "code": code}]}


def _denied() -> Reply:
    # https://developers.freshdesk.com/api/ Errors: 403 Access Denied, code access_denied
    return _json(403, {"code": "access_denied", "message": "You are not authorized to perform this action."})


def _json(status: int, body: Any, headers: dict | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)
