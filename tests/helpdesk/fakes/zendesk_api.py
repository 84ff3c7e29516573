"""A stateful Zendesk behind `responses`: users, groups, tickets, comments, audits and uploads kept in dicts.

Every answer has the shape of Zendesk's own documentation (the page is cited at each), so tests
assert on what Zendesk ends up holding. Agents act through helpers (`agent_comment`, `solve`),
and the trigger's signed webhook call comes from `webhook_call`. `fail` and `lose_answer` inject
refusals and answers lost after Zendesk did the work.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from connector.helpdesk.port import WebhookCall

URL = "https://example.zendesk.com"
FILES = "https://example.zdusercontent.com"     # where content_url redirects (never with credentials)
EMAIL, TOKEN = "connector@example.com", "zd-api-token-3b9f0c-do-not-leak"
Reply = tuple[int, dict, str]


class ZendeskFake:
    def __init__(self, url: str = URL, email: str = EMAIL, token: str = TOKEN):
        self.url, self.email, self.token = url, email, token
        self.users: dict[int, dict] = {}
        self.groups: dict[int, dict] = {}
        self.tickets: dict[int, dict] = {}
        self.comments: dict[int, list[dict]] = {}
        self.audits: dict[int, list[dict]] = {}
        self.uploads: dict[str, list[dict]] = {}
        self.files: dict[int, bytes] = {}
        self.keys: dict[str, tuple[str, Reply]] = {}        # Idempotency-Key -> (body, first answer)
        self.triggers: list[dict] = []
        self.automations: list[dict] = []
        self.failures: list[tuple[str, str, Reply]] = []
        self.losses: list[tuple[str, str]] = []
        self.file_fetches: list[dict] = []                 # headers of each download from FILES
        self._ids, self._now = itertools.count(90001), _utcnow()
        self.me = self.add_user("Connector Bot", email, "admin")
        self.support = self.add_group("Support")

    # -- what agents and admins do in Zendesk ---------------------------------------------------------
    def add_user(self, name: str, email: str, role: str = "end-user") -> int:
        # https://developer.zendesk.com/api-reference/ticketing/users/users/#json-format
        uid = next(self._ids)
        self.users[uid] = {"id": uid, "url": f"{self.url}/api/v2/users/{uid}.json", "name": name,
                           "email": email, "role": role, "verified": True, "active": True,
                           "created_at": self._stamp()}
        return uid

    def add_group(self, name: str) -> int:
        # https://developer.zendesk.com/api-reference/ticketing/groups/groups/#json-format
        gid = next(self._ids)
        self.groups[gid] = {"id": gid, "url": f"{self.url}/api/v2/groups/{gid}.json", "name": name,
                            "deleted": False, "default": False, "is_public": True, "description": ""}
        return gid

    def agent_comment(self, ticket_id: int, author_id: int, body: str = "", *, html: str | None = None,
                      public: bool = True, files: tuple[tuple[str, bytes, str], ...] = ()) -> int:
        tokens = [self._upload(name, data, kind) for name, data, kind in files]
        comment = {"body": body, "html_body": html, "public": public, "author_id": author_id, "uploads": tokens}
        return self._comment(ticket_id, comment, {}, author_id, via="web")["id"]

    def solve(self, ticket_id: int, status: str = "solved") -> None:
        self.tickets[ticket_id]["status"] = status

    def webhook_call(self, ticket_id: int, secret: str, *, at: float | None = None,
                     body: bytes | None = None) -> WebhookCall:
        """What the trigger's webhook POSTs: {"ticket_id": "{{ticket.id}}"} signed as Zendesk signs
        (https://developer.zendesk.com/documentation/webhooks/verifying/)."""
        payload = body if body is not None else json.dumps({"ticket_id": str(ticket_id)}).encode()
        when = datetime.fromtimestamp(at, timezone.utc) if at is not None else datetime.now(timezone.utc)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = base64.b64encode(hmac.new(secret.encode(), stamp.encode() + payload, hashlib.sha256).digest())
        return WebhookCall(headers={"x-zendesk-webhook-signature": signature.decode(),
                                    "x-zendesk-webhook-signature-timestamp": stamp,
                                    "content-type": "application/json"},
                           body=payload, path_secret=None, received_at=when.timestamp())

    def fail(self, method: str, path: str, status: int, body: dict | str, headers: dict | None = None) -> None:
        """The next `method` on a path matching the regex `path` is answered with this refusal."""
        text = body if isinstance(body, str) else json.dumps(body)
        self.failures.append((method, path, (status, {"Content-Type": "application/json", **(headers or {})}, text)))

    def lose_answer(self, method: str, path: str) -> None:
        """The next such request does its work in Zendesk, then the client gets ConnectionError."""
        self.losses.append((method, path))

    def ticket_comments(self, ticket_id: int) -> list[dict]:
        return self.comments.get(ticket_id, [])

    # -- wiring ---------------------------------------------------------------------------------------
    def install(self, mock: responses.RequestsMock) -> None:
        for method in ("GET", "POST", "PUT"):
            mock.add_callback(method, re.compile(re.escape(self.url) + r"/.*"), callback=self._dispatch)
        mock.add_callback("GET", re.compile(re.escape(FILES) + r"/.*"), callback=self._file)

    def _dispatch(self, request: requests.PreparedRequest) -> Reply:
        parts = urlsplit(request.url)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if request.headers.get("Authorization") != self._basic():
            # https://developer.zendesk.com/api-reference/introduction/security-and-auth/
            return 401, {"Content-Type": "application/json"}, json.dumps({"error": "Couldn't authenticate you"})
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
        return _json(404, {"error": "InvalidEndpoint", "description": "Not found"})

    def _maybe_lose(self, method: str, path: str) -> None:
        for index, (lose_method, pattern) in enumerate(self.losses):
            if lose_method == method and re.fullmatch(pattern, path):
                del self.losses[index]
                raise requests.ConnectionError("Connection aborted: the answer was lost")

    def _routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        n = r"(\d+)"
        return [("GET", "/api/v2/users/me", self._get_me), ("GET", "/api/v2/users/search", self._search_users),
                ("POST", "/api/v2/users/create_or_update", self._upsert_user),
                ("GET", "/api/v2/groups", self._list_groups), ("GET", f"/api/v2/groups/{n}", self._show_group),
                ("POST", "/api/v2/uploads", self._post_upload), ("POST", "/api/v2/tickets", self._create),
                ("GET", "/api/v2/tickets", self._list_tickets), ("GET", f"/api/v2/tickets/{n}", self._show),
                ("PUT", f"/api/v2/tickets/{n}", self._update),
                ("GET", f"/api/v2/tickets/{n}/comments", self._list_comments),
                ("GET", f"/api/v2/tickets/{n}/audits", self._list_audits),
                ("GET", "/api/v2/triggers/active", lambda rq, q: _page(self.triggers, q, "triggers")[0]),
                ("GET", "/api/v2/automations/active", lambda rq, q: _page(self.automations, q, "automations")[0]),
                ("GET", r"/attachments/token/([^/]+)/", self._redirect_file)]

    # -- routes: each answers as the cited page documents ---------------------------------------------
    def _get_me(self, request, query) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/users/users/#show-the-currently-authenticated-user
        return _json(200, {"user": self.users[self.me]})

    def _search_users(self, request, query) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/users/users/#search-users
        wanted = query.get("query", "").removeprefix("email:").lower()
        found = [u for u in self.users.values() if u["email"].lower() == wanted]
        return _json(200, {"users": found, "next_page": None, "previous_page": None, "count": len(found)})

    def _upsert_user(self, request, query) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/users/users/#create-or-update-user
        user = json.loads(request.body)["user"]
        for existing in self.users.values():
            if existing["email"].lower() == user["email"].lower():
                existing["name"] = user.get("name", existing["name"])
                return _json(200, {"user": existing})
        return _json(201, {"user": self.users[self.add_user(user["name"], user["email"])]})

    def _list_groups(self, request, query) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/groups/groups/#list-groups
        return _page(list(self.groups.values()), query, "groups")[0]

    def _show_group(self, request, query, gid) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/groups/groups/#show-group
        group = self.groups.get(int(gid))
        return _json(200, {"group": group}) if group else _json(404, _NOT_FOUND)

    def _post_upload(self, request, query) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-attachments/#upload-files
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        token = self._upload(query["filename"], body, request.headers.get("Content-Type", "application/binary"))
        return _json(201, {"upload": {"token": token, "attachment": self.uploads[token][0],
                                      "attachments": self.uploads[token]}})

    def _create(self, request, query) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket and, for
        # Idempotency-Key, https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency
        key = request.headers.get("Idempotency-Key")
        if key in self.keys:
            body, (status, headers, text) = self.keys[key]
            if body != request.body:
                return _json(400, {"error": "IdempotentRequestError",
                                   "description": "Request parameters don't match the given idempotency key"})
            return status, {**headers, "x-idempotency-lookup": "hit"}, text
        reply = self._create_ticket(json.loads(request.body)["ticket"])
        if key:
            self.keys[key] = (request.body, reply)
            reply = (reply[0], {**reply[1], "x-idempotency-lookup": "miss"}, reply[2])
        return reply

    def _create_ticket(self, ticket: dict) -> Reply:
        comment = ticket.get("comment") or {}
        invalid = self._invalid(ticket, comment)
        if invalid:
            return invalid
        tid, when = next(self._ids), self._stamp()
        requester = ticket.get("requester_id") or self.me
        self.tickets[tid] = {"id": tid, "url": f"{self.url}/api/v2/tickets/{tid}.json",
                             "external_id": ticket.get("external_id"), "subject": ticket.get("subject"),
                             "raw_subject": ticket.get("subject"), "description": comment.get("body") or "",
                             "status": "new", "requester_id": requester,
                             "submitter_id": ticket.get("submitter_id") or self.me, "assignee_id": None,
                             "group_id": ticket.get("group_id"), "tags": ticket.get("tags") or [],
                             "custom_fields": [], "via": {"channel": "api"}, "created_at": when, "updated_at": when,
                             # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#creating-follow-up-tickets
                             "followup_source_id": ticket.get("via_followup_source_id")}
        # "The submitter always becomes the author of the first comment" (Create Ticket, submitter_id).
        self._comment(tid, {**comment, "author_id": None}, ticket.get("metadata") or {},
                      ticket.get("submitter_id") or self.me)
        return _json(201, {"ticket": self.tickets[tid], "audit": self.audits[tid][-1]})

    def _invalid(self, ticket: dict, comment: dict) -> Reply | None:
        """422 RecordInvalid, as https://developer.zendesk.com/api-reference/introduction/requests/ shows it."""
        problems = {}
        if "comment" in ticket and not (comment.get("body") or comment.get("html_body")):
            problems["base"] = [{"description": "Description: cannot be blank", "error": "BlankValue"}]
        if ticket.get("group_id") is not None and ticket["group_id"] not in self.groups:
            problems["group"] = [{"description": "Group: is invalid", "error": "InvalidValue"}]
        for uid in (ticket.get("requester_id"), comment.get("author_id")):
            if uid is not None and uid not in self.users:
                problems["requester"] = [{"description": "Requester: is invalid", "error": "InvalidValue"}]
        if any(token not in self.uploads for token in comment.get("uploads") or []):
            problems["uploads"] = [{"description": "Uploads: token is invalid", "error": "InvalidValue"}]
        if not problems:
            return None
        return _json(422, {"error": "RecordInvalid", "description": "Record validation errors", "details": problems})

    def _list_tickets(self, request, query) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets
        found = [t for t in self.tickets.values() if "external_id" not in query
                 or t["external_id"] == query["external_id"]]
        return _json(200, {"tickets": found, "next_page": None, "previous_page": None, "count": len(found)})

    def _show(self, request, query, tid) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#show-ticket
        ticket = self.tickets.get(int(tid))
        return _json(200, {"ticket": ticket}) if ticket else _json(404, _NOT_FOUND)

    def _update(self, request, query, tid) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
        ticket, change = self.tickets.get(int(tid)), json.loads(request.body)["ticket"]
        if ticket is None:
            return _json(404, _NOT_FOUND)
        if ticket["status"] == "closed":
            return _json(422, {"error": "RecordInvalid", "description": "Record validation errors", "details": {
                "status": [{"description": "Status: closed prevents ticket update", "error": "ClosedTicket"}]}})
        invalid = self._invalid(change, change.get("comment") or {})
        if invalid:
            return invalid
        if "status" in change:
            ticket["status"] = change["status"]
        if "comment" in change:
            self._comment(int(tid), change["comment"], change.get("metadata") or {}, self.me)
        else:
            self.audits.setdefault(int(tid), []).append(
                {"id": next(self._ids), "ticket_id": int(tid), "created_at": self._stamp(), "author_id": self.me,
                 "via": {"channel": "api"}, "metadata": {"custom": change.get("metadata") or {}},
                 "events": [{"id": next(self._ids), "type": "Change", "field_name": "status",
                             "value": ticket["status"]}]})
        return _json(200, {"ticket": ticket, "audit": self.audits[int(tid)][-1]})

    def _list_comments(self, request, query, tid) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments
        reply, items = _page(self.comments.get(int(tid), []), query, "comments")
        if query.get("include") == "users":
            body = json.loads(reply[2])
            body["users"] = [self.users[uid] for uid in dict.fromkeys(c["author_id"] for c in items)]
            reply = _json(200, body)
        return reply

    def _list_audits(self, request, query, tid) -> Reply:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/#list-audits-for-a-ticket
        return _page(self.audits.get(int(tid), []), query, "audits")[0]

    def _redirect_file(self, request, query, token) -> Reply:
        # content_url may hand the file out from another host: credentials must not follow
        # (https://developer.zendesk.com/documentation/ticketing/managing-tickets/working-with-url-properties/)
        for items in self.comments.values():
            for comment in items:
                for attachment in comment["attachments"]:
                    if f"/token/{token}/" in attachment["content_url"]:
                        return 302, {"Location": f"{FILES}/attachment/{attachment['id']}?sig=x"}, ""
        return _json(404, _NOT_FOUND)

    def _file(self, request: requests.PreparedRequest) -> Reply:
        self.file_fetches.append(dict(request.headers))
        if "Authorization" in request.headers:
            return 400, {}, "credentials sent to the file host"
        found = re.search(r"/attachment/(\d+)", request.url)
        data = self.files.get(int(found.group(1))) if found else None
        return (200, {"Content-Type": "application/octet-stream"}, data) if data is not None else (404, {}, "")

    # -- the state changes behind the routes ----------------------------------------------------------
    def _basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()

    def advance(self, seconds: float) -> None:
        """Zendesk's clock moves on (agents answer later)."""
        self._now += timedelta(seconds=seconds)

    def _stamp(self) -> str:
        # Zendesk's times have whole seconds; never behind this machine's clock (the connector links
        # a ticket at its own "now" and reads answers written after it).
        self._now = max(self._now + timedelta(seconds=1), _utcnow())
        return self._now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _upload(self, name: str, data: bytes, kind: str) -> str:
        # https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-attachments/#json-format
        aid, token = next(self._ids), f"tok{next(self._ids)}"
        self.files[aid] = data
        self.uploads[token] = [{"id": aid, "file_name": name, "content_type": kind, "size": len(data),
                                "content_url": f"{self.url}/attachments/token/{token}/?name={name}",
                                "inline": False, "deleted": False, "malware_scan_result": "malware_not_found",
                                "thumbnails": []}]
        return token

    def _comment(self, ticket_id: int, comment: dict, metadata: dict, author_id: int, via: str = "api") -> dict:
        """One audit with its Comment event, and the comment the comments API lists
        (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/#json-format,
        https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#json-format)."""
        when, audit_id, comment_id = self._stamp(), next(self._ids), next(self._ids)
        files = [a for token in comment.get("uploads") or [] for a in self.uploads.pop(token)]
        html, body = comment.get("html_body"), comment.get("body") or ""
        item = {"id": comment_id, "type": "Comment", "author_id": comment.get("author_id") or author_id,
                "body": body or re.sub(r"<[^>]+>", "", html or ""), "html_body": html or f"<p>{body}</p>",
                "plain_body": body or re.sub(r"<[^>]+>", "", html or ""), "public": comment.get("public", True),
                "attachments": files, "audit_id": audit_id, "via": {"channel": via, "source": {}},
                "metadata": {"system": {"client": "gmail-connector"}, "custom": metadata}, "created_at": when}
        self.comments.setdefault(ticket_id, []).append(item)
        event = {k: item[k] for k in ("id", "type", "author_id", "body", "html_body", "public", "attachments")}
        self.audits.setdefault(ticket_id, []).append(
            {"id": audit_id, "ticket_id": ticket_id, "created_at": when, "author_id": author_id,
             "metadata": {"system": {"client": "gmail-connector"}, "custom": metadata},
             "via": {"channel": via}, "events": [event]})
        self.tickets[ticket_id]["updated_at"] = when
        return item


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


_NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}


def _page(items: list[dict], query: dict, name: str) -> tuple[Reply, list[dict]]:
    """Cursor pagination: page[size], page[after]; meta.has_more and meta.after_cursor
    (https://developer.zendesk.com/api-reference/introduction/pagination/)."""
    size, start = int(query.get("page[size]", 100)), int(query.get("page[after]", "0") or 0)
    chunk = items[start:start + size]
    more = start + size < len(items)
    meta = {"has_more": more, "after_cursor": str(start + size) if more else None,
            "before_cursor": str(start) if start else None}
    return _json(200, {name: chunk, "meta": meta, "links": {"next": None, "prev": None}}), chunk


def _json(status: int, body: Any, headers: dict | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)
