"""A stateful FreeScout (API & Webhooks module) behind `responses`: mailboxes, users, customers,
conversations, threads and attachment files kept in dicts.

Request and answer shapes are those of https://api-docs.freescout.net/ (cited at each); the
webhook call is https://freescout.net/module/api-webhooks/ (the conversation object, signed with
base64 HMAC-SHA1 of the body). The rules FreeScout applies (a customer thread reactivates the
conversation and makes its author the customer; `byUser` is required to change a status; empty
attachment data is skipped) follow the module's documented parameters. `outgoing` records the
mail FreeScout itself would send, so a test can assert that it sends none: a mailbox in
`auto_reply` sends its Auto Reply to a new customer conversation even when it is imported (core's
SendAutoReply listener has its `imported` check commented out). `fail` and `lose_answer` inject
refusals and answers lost after FreeScout did the work.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from connector.helpdesk.port import WebhookCall

URL = "https://help.example.test"
API_KEY = "c2ba609c687a3425402b9d881e5075db"      # the docs' sample key format: 32 hex digits
SECRET = "7b1e0c4f9a2d43e1b5c6d7e8f9a0b1c2"       # the "Secret Key" shown under Manage » API & Webhooks
Reply = tuple[int, dict, str]
BAD_REQUEST = "Bad request"
STATUSES = ("active", "pending", "closed", "spam")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(moment: datetime) -> str:
    # https://api-docs.freescout.net/#date-format : YYYY-MM-DDThh:mm:ssZ, UTC
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def php_json(value: Any) -> bytes:
    """What PHP's json_encode writes (compact, \\/ and \\uXXXX escapes): the bytes FreeScout signs and sends."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


class FreeScoutFake:
    def __init__(self, url: str = URL, api_key: str = API_KEY, secret: str = SECRET,
                 clock: Callable[[], datetime] = _now):
        self.url, self.api_key, self.secret, self.clock = url.rstrip("/"), api_key, secret, clock
        self._ids = itertools.count(101)
        # https://api-docs.freescout.net/#list-mailboxes (id, name, email, createdAt, updatedAt)
        self.mailboxes = {1: self._mailbox(1, "Support", "support@shop.example"),
                          2: self._mailbox(2, "Billing", "billing@shop.example")}
        # https://api-docs.freescout.net/#get-user (id, firstName, lastName, email, role, ...)
        self.users = {3: self._user(3, "Ada", "Admin", "ada@shop.example", "admin"),
                      1: self._user(1, "Olaf", "Owner", "olaf@shop.example", "admin"),
                      7: self._user(7, "Ulla", "Agent", "ulla@shop.example", "user")}
        self.auto_reply: set[int] = set()            # mailboxes whose Auto Reply is on (the guide: none)
        self.customers: dict[int, dict] = {}
        self.conversations: dict[int, dict] = {}
        self.files: dict[int, dict] = {}
        self.outgoing: list[dict] = []
        self.failures: list[tuple[str, str, Reply]] = []
        self.losses: list[tuple[str, str]] = []
        self.calls: list[tuple[str, str]] = []

    # -- wiring ---------------------------------------------------------------------------------------
    def install(self, mock: responses.RequestsMock) -> None:
        pattern = re.compile(re.escape(self.url) + r"/.*")
        for method in ("GET", "POST", "PUT", "DELETE"):
            mock.add_callback(method, pattern, callback=self._dispatch)

    def fail(self, method: str, path: str, status: int, body: dict | None = None, headers: dict | None = None):
        """The next METHOD on a path matching the regex `path` answers this, doing nothing."""
        self.failures.append((method, path, (status, headers or {}, json.dumps(body) if body else "")))

    def lose_answer(self, method: str, path: str) -> None:
        """The next METHOD on `path` is done, then the connection drops before the answer arrives."""
        self.losses.append((method, path))

    def _dispatch(self, request) -> Reply:
        parts = urlsplit(request.url)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.calls.append((request.method, path))
        for i, (method, wanted, reply) in enumerate(self.failures):
            if method == request.method and re.fullmatch(wanted, path):
                del self.failures[i]
                return reply
        reply = self._route(request, path, query)
        for i, (method, wanted) in enumerate(self.losses):
            if method == request.method and re.fullmatch(wanted, path) and reply[0] < 300:
                del self.losses[i]
                raise requests.ConnectionError("Connection aborted: the answer was lost")
        return reply

    def _route(self, request, path: str, query: dict) -> Reply:
        if path.startswith("/storage/attachment/"):
            return self._download(query)        # an open route: the token in the URL is the credential
        if request.headers.get("X-FreeScout-API-Key") != self.api_key and query.get("api_key") != self.api_key:
            # https://api-docs.freescout.net/#status-codes : 401 "API Key is either not provided or not valid"
            return _error(401, "Not Authorized")
        body = json.loads(request.body) if request.body else {}
        routes = [("POST", r"/api/conversations", lambda: self._create_conversation(body)),
                  ("GET", r"/api/conversations", lambda: self._list_conversations(query)),
                  ("GET", r"/api/conversations/(\d+)", lambda n: self._get_conversation(n, query)),
                  ("PUT", r"/api/conversations/(\d+)", lambda n: self._update_conversation(n, body)),
                  ("POST", r"/api/conversations/(\d+)/threads", lambda n: self._create_thread(n, body)),
                  ("GET", r"/api/mailboxes", lambda: _page("mailboxes", list(self.mailboxes.values()), query)),
                  ("GET", r"/api/users", lambda: self._list_users(query))]
        for method, pattern, handler in routes:
            found = re.fullmatch(pattern, path)
            if found and method == request.method:
                return handler(*(int(g) for g in found.groups()))
        # https://api-docs.freescout.net/#status-codes : 405 wrong method or endpoint
        return _error(405, "Method Not Allowed")

    # -- the API --------------------------------------------------------------------------------------
    def _create_conversation(self, body: dict) -> Reply:
        # https://api-docs.freescout.net/#create-conversation : type, mailboxId, subject, customer, threads
        missing = [name for name in ("type", "mailboxId", "subject", "customer", "threads") if not body.get(name)]
        if missing:
            return _error(400, BAD_REQUEST, [(name, "may not be empty") for name in missing])
        if body["mailboxId"] not in self.mailboxes:
            return _error(400, BAD_REQUEST, [("mailboxId", "Mailbox not found")])
        customer = self._customer(body["customer"])
        number = next(self._ids)
        now = self.clock()
        self.conversations[number] = {
            "id": number, "number": number + 1000, "type": body["type"], "mailboxId": body["mailboxId"],
            "subject": body["subject"], "status": body.get("status") or "active", "state": "published",
            "customer_id": customer["id"], "imported": bool(body.get("imported")), "threads": [],
            "createdAt": body.get("createdAt") or stamp(now), "updatedAt": stamp(now)}
        for thread in reversed(body["threads"]):            # "Newest threads go first"
            status, _, text = self._create_thread(number, {**thread, "imported": body.get("imported")})
            if status >= 300:
                del self.conversations[number]
                return status, {}, text
        self.conversations[number]["customer_id"] = customer["id"]     # the module restores the customer
        if body["threads"][-1].get("type") == "customer" and body["mailboxId"] in self.auto_reply:
            # CustomerCreatedConversation fires for imported conversations too, and SendAutoReply sends.
            self.outgoing.append({"kind": "auto-reply", "to": customer["email"], "conversation": number})
        # https://api-docs.freescout.net/#create-conversation : "201 Created, Resource-ID: 35"
        return 201, {"Resource-ID": str(number)}, ""

    def _create_thread(self, number: int, body: dict) -> Reply:
        # https://api-docs.freescout.net/#create-thread : type, text, customer / user, imported, cc, attachments
        conversation = self.conversations.get(number)
        if conversation is None:
            return _error(404, "Not Found")
        kind = body.get("type")
        if kind not in ("customer", "message", "note") or not body.get("text"):
            return _error(400, BAD_REQUEST, [("type" if kind not in ("customer", "message", "note") else "text",
                                              "may not be empty")])
        if kind != "customer" and int(body.get("user") or 0) not in self.users:
            return _error(400, BAD_REQUEST, [("user", "`user` parameter is required")])
        customer = self._customer(body["customer"]) if body.get("customer") else None
        if kind == "customer" and customer is None:
            return _error(400, BAD_REQUEST, [("customer", "`customer` parameter is required")])
        imported = bool(body.get("imported"))
        created = body.get("createdAt") if imported and body.get("createdAt") else stamp(self.clock())
        thread = self._add_thread(conversation, kind, body["text"], created, customer, body.get("user"),
                                  body.get("cc") or [], body.get("attachments") or [], body.get("state"))
        if kind == "customer":
            conversation["customer_id"] = customer["id"]
            conversation["status"] = body.get("status") or "active"  # "a customer reply will reactivate"
        elif kind == "message":
            conversation["status"] = body.get("status") or "pending"
            if not imported:
                self.outgoing.append({"kind": "reply", "thread": thread["id"], "conversation": number})
        elif body.get("status"):
            conversation["status"] = body["status"]
        # https://api-docs.freescout.net/#create-thread : "201 Created, Resource-ID: 25"
        return 201, {"Resource-ID": str(thread["id"])}, ""

    def _update_conversation(self, number: int, body: dict) -> Reply:
        # https://api-docs.freescout.net/#update-conversation : byUser required for status, assignTo, mailboxId
        conversation = self.conversations.get(number)
        if conversation is None:
            return _error(404, "Not Found")
        if any(name in body for name in ("status", "assignTo", "mailboxId")) and int(body.get("byUser") or 0) \
                not in self.users:
            return _error(400, BAD_REQUEST, [("byUser", "byUser parameter is required.")])
        if "customerId" in body:
            if int(body["customerId"]) not in self.customers:
                return _error(400, BAD_REQUEST, [("customerId", "Customer not found.")])
            conversation["customer_id"] = int(body["customerId"])
        if body.get("status"):
            conversation["status"] = body["status"]
        conversation["updatedAt"] = stamp(self.clock())
        return 204, {}, ""          # https://api-docs.freescout.net/#update-conversation : 204 No Content

    def _get_conversation(self, number: int, query: dict) -> Reply:
        conversation = self.conversations.get(number)
        if conversation is None:
            return _error(404, "Not Found")
        embed = query.get("embed", "threads")               # "Default: threads"
        return 200, {}, json.dumps(self.conversation_json(conversation, "threads" in embed.split(",")))

    def _list_conversations(self, query: dict) -> Reply:
        # https://api-docs.freescout.net/#list-conversations : filters, sortField/sortOrder, page/pageSize
        status = query.get("status") or "active"                     # ONE status, "defaults to active"
        if status not in STATUSES:
            return _error(400, BAD_REQUEST, [("status", "Expected one of these: 'active', 'spam', 'open', "
                                                        "'closed', 'pending'")])
        found = [c for c in self.conversations.values() if c["status"] == status
                 and (not query.get("customerEmail") or self._email(c) == query["customerEmail"].lower())
                 and (not query.get("mailboxId") or str(c["mailboxId"]) in query["mailboxId"].split(","))]
        field = {"updatedAt": "updatedAt", "createdAt": "createdAt"}.get(query.get("sortField", ""), "createdAt")
        found.sort(key=lambda c: (c[field], c["id"]), reverse=query.get("sortOrder", "desc") == "desc")
        threads = "threads" in (query.get("embed") or "").split(",")
        return _page("conversations", [self.conversation_json(c, threads) for c in found], query)

    def _list_users(self, query: dict) -> Reply:
        # https://api-docs.freescout.net/#list-users : email filter, paged
        users = [u for u in sorted(self.users.values(), key=lambda u: u["id"])
                 if not query.get("email") or u["email"] == query["email"].lower()]
        return _page("users", users, query)

    def _download(self, query: dict) -> Reply:
        file = self.files.get(int(query.get("id") or 0))
        if file is None or query.get("token") != file["token"]:
            return 404, {}, "Not Found"
        return 200, {"Content-Type": file["mimeType"]}, file["data"]

    # -- what agents and admins do in FreeScout -------------------------------------------------------
    def agent_reply(self, number: int, html: str, *, user: int = 7, files: tuple = (), cc: tuple = (),
                    state: str = "published") -> int:
        """An agent answers in FreeScout's web UI; FreeScout then mails the customer itself (outgoing)."""
        conversation = self.conversations[number]
        attachments = [{"fileName": n, "mimeType": t, "data": base64.b64encode(d).decode()} for n, t, d in files]
        thread = self._add_thread(conversation, "message", html, stamp(self.clock()), None, user, list(cc),
                                  attachments, state, source="web")
        if state == "published":
            conversation["status"] = "pending"
            self.outgoing.append({"kind": "reply", "thread": thread["id"], "conversation": number})
        return thread["id"]

    def agent_note(self, number: int, html: str, *, user: int = 7) -> int:
        conversation = self.conversations[number]
        return self._add_thread(conversation, "note", html, stamp(self.clock()), None, user, [], [], None,
                                source="web")["id"]

    def set_status(self, number: int, status: str) -> None:
        self.conversations[number]["status"] = status

    def webhook_call(self, number: int, event: str = "convo.agent.reply.created", *,
                     secret: str | None = None) -> WebhookCall:
        """The module's POST: the conversation object, X-FreeScout-Event and X-FreeScout-Signature
        (https://freescout.net/module/api-webhooks/)."""
        body = php_json(self.conversation_json(self.conversations[number], True))
        signature = base64.b64encode(hmac.new((secret or self.secret).encode(), body, hashlib.sha1).digest())
        return WebhookCall(headers={"content-type": "application/json", "x-freescout-event": event,
                                    "x-freescout-signature": signature.decode()},
                           body=body, path_secret=None, received_at=self.clock().timestamp())

    def conversations_of(self, email: str) -> list[dict]:
        return sorted((c for c in self.conversations.values() if self._email(c) == email.lower()),
                      key=lambda c: c["id"])

    def file_bytes(self, attachment: dict) -> bytes:
        return self.files[int(attachment["id"])]["data"]

    # -- entities -------------------------------------------------------------------------------------
    def conversation_json(self, c: dict, with_threads: bool) -> dict:
        # https://api-docs.freescout.net/#get-conversation (threads newest first, as getThreads() orders them)
        threads = sorted(c["threads"], key=lambda t: (t["createdAt"], t["id"]), reverse=True) if with_threads else []
        customer = self.customers[c["customer_id"]]
        return {"id": c["id"], "number": c["number"], "threadsCount": len(c["threads"]), "type": c["type"],
                "folderId": 11, "status": c["status"], "state": c["state"], "subject": c["subject"],
                "preview": "", "mailboxId": c["mailboxId"], "assignee": None, "createdBy": _short(customer),
                "createdAt": c["createdAt"], "updatedAt": c["updatedAt"], "closedBy": None, "closedByUser": None,
                "closedAt": None, "userUpdatedAt": c["updatedAt"],
                "source": {"type": "api", "via": "customer"}, "cc": [], "bcc": [], "customer": _short(customer),
                "customFields": [], "_embedded": {"threads": [self._thread_json(t) for t in threads]}}

    def _thread_json(self, t: dict) -> dict:
        by = self.customers[t["by"][1]] if t["by"][0] == "customer" else self.users[t["by"][1]]
        customer = self.customers.get(t["customer_id"])
        return {"id": t["id"], "type": t["type"], "status": "active", "state": t["state"],
                "action": {"type": "", "text": "", "associatedEntities": []}, "body": t["body"],
                "source": {"type": t["source"], "via": t["by"][0]},
                "customer": _short(customer) if customer else None,
                "createdBy": _short(by, "user" if t["by"][0] == "user" else "customer"), "assignedTo": None,
                "to": [], "cc": t["cc"], "bcc": [], "createdAt": t["createdAt"], "openedAt": None,
                "_embedded": {"attachments": [self._file_json(i) for i in t["attachments"]]}}

    def _file_json(self, file_id: int) -> dict:
        file = self.files[file_id]
        return {"id": file_id, "fileName": file["fileName"], "mimeType": file["mimeType"], "size": len(file["data"]),
                "fileUrl": f"{self.url}/storage/attachment/7/3/1/{file['fileName']}?id={file_id}&token={file['token']}"}

    def _add_thread(self, conversation: dict, kind: str, text: str, created: str, customer: dict | None,
                    user: Any, cc: list, attachments: list, state: str | None, source: str = "api") -> dict:
        thread_customer = customer or self.customers[conversation["customer_id"]]
        thread = {"id": next(self._ids), "type": kind, "state": state or "published", "body": text,
                  "customer_id": thread_customer["id"], "cc": [str(e).lower() for e in cc], "createdAt": created,
                  "by": ("customer", thread_customer["id"]) if kind == "customer" else ("user", int(user)),
                  "source": source, "attachments": []}
        for item in attachments:
            data = base64.b64decode(item.get("data") or "")
            if _php_empty(item.get("fileName")) or _php_empty(item.get("mimeType")) or _php_empty(data):
                continue                                     # the module skips what it cannot store
            file_id = next(self._ids)
            self.files[file_id] = {"fileName": item["fileName"], "mimeType": item["mimeType"], "data": data,
                                   "token": hashlib.md5(f"{file_id}".encode()).hexdigest()}
            thread["attachments"].append(file_id)
        conversation["threads"].append(thread)
        conversation["updatedAt"] = stamp(self.clock())
        return thread

    def _customer(self, given: dict) -> dict:
        email = str(given.get("email") or "").lower()
        for customer in self.customers.values():
            if customer["email"] == email:
                return customer         # "If a customer is matched ... the rest of the optional fields is ignored"
        number = next(self._ids)
        self.customers[number] = {"id": number, "firstName": given.get("firstName") or "",
                                  "lastName": given.get("lastName") or "", "email": email}
        return self.customers[number]

    def _email(self, conversation: dict) -> str:
        return self.customers[conversation["customer_id"]]["email"]

    @staticmethod
    def _mailbox(number: int, name: str, email: str) -> dict:
        return {"id": number, "name": name, "email": email, "createdAt": "2020-08-09T10:09:00Z",
                "updatedAt": "2021-01-16T12:38:46Z"}

    @staticmethod
    def _user(number: int, first: str, last: str, email: str, role: str) -> dict:
        return {"id": number, "firstName": first, "lastName": last, "email": email, "role": role,
                "alternateEmails": "", "jobTitle": "", "phone": "", "timezone": "UTC", "photoUrl": "",
                "language": "en", "createdAt": "2018-08-09T10:08:53Z", "updatedAt": "2020-12-22T14:54:35Z"}


def _php_empty(value: Any) -> bool:
    """PHP's empty(): also "0" (the module's `empty($attachment['file_name'])` drops such a file)."""
    return not value or value in ("0", b"0")


def _short(person: dict, kind: str = "customer") -> dict:
    # the short person object of https://api-docs.freescout.net/#get-conversation (customer, createdBy)
    return {"id": person["id"], "type": kind, "firstName": person.get("firstName"),
            "lastName": person.get("lastName"), "photoUrl": "", "email": person["email"]}


def _page(name: str, items: list, query: dict) -> Reply:
    # https://api-docs.freescout.net/#list-conversations : {"_embedded": {NAME: [...]}, "page": {...}}
    size, number = int(query.get("pageSize") or 50), int(query.get("page") or 1)
    pages = max(1, -(-len(items) // size))
    chunk = items[(number - 1) * size:number * size]
    return 200, {}, json.dumps({"_embedded": {name: chunk},
                                "page": {"size": size, "totalElements": len(items), "totalPages": pages,
                                         "number": number}})


def _error(status: int, message: str, errors: list[tuple[str, str]] = ()) -> Reply:
    # https://api-docs.freescout.net/#errors : {"message", "errorCode", "_embedded": {"errors": [{path, message}]}}
    body = {"message": message, "errorCode": message.upper()}
    if errors:
        body["_embedded"] = {"errors": [{"path": p, "message": m, "source": "JSON"} for p, m in errors]}
    return status, {"Content-Type": "application/json"}, json.dumps(body)
