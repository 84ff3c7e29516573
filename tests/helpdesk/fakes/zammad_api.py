"""A stateful fake of Zammad's REST API behind `responses`: users, tickets, articles and attachments in dicts.

Every answer has the shape Zammad documents (each builder cites its page); refusals are Zammad's
{"error", "error_human"} body (app/controllers/application_controller/handles_errors.rb in
github.com/zammad/zammad). Two Zammad behaviours the connector must avoid are recorded in
`outgoing_mail`: an email article from an Agent is mailed (ticket/article/enqueue_communicate_
email_job.rb), and the default "auto reply (on new tickets)" trigger answers a new ticket unless
its article says "send-auto-response": false (spec/models/trigger_spec.rb). `lose(method, path)`
lets the next matching request take effect and then fail with a ConnectionError.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from connector.helpdesk.port import WebhookCall

URL = "https://zammad.example.test"
TOKEN = "zmd-token-7c1e-do-not-leak"
SECRET = "zmd-hmac-5b2a-do-not-leak"
# Default ids: docs.zammad.org/en/latest/api/ticket/states.html (states), .../api/ticket/articles.html (types).
STATES = {"new": 1, "open": 2, "pending reminder": 3, "closed": 4, "merged": 5, "pending close": 7}
TYPES = {"email": 1, "phone": 5, "note": 10, "web": 11}
SENDERS = {"Agent": 1, "Customer": 2, "System": 3}
START = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
Answer = tuple[int, dict, bytes]


class Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class FakeZammad:
    def __init__(self, url: str = URL, token: str = TOKEN):
        self.url, self.token = url, token
        self.users: dict[int, dict] = {}
        self.tickets: dict[int, dict] = {}
        self.articles: dict[int, dict] = {}
        self.files: dict[int, dict] = {}
        self.groups = {1: "Support", 2: "Billing", 3: "Sales"}
        self.outgoing_mail: list[int] = []          # ids of articles Zammad itself would have mailed
        self.script: list[Answer] = []              # canned answers, used first
        self.requests: list[tuple[str, str]] = []
        self._losses: list[tuple[str, str]] = []
        self._clock = START
        self.bot = self.add_user("Gmail", "Connector", "connector@example.test", roles=["Agent"],
                                 groups={"Support": ["full"], "Billing": ["read", "create", "change"],
                                         "Sales": ["read"]})
        self.agent = self.add_user("Emma", "Taylor", "emma@chrispresso.com", roles=["Agent"],
                                   groups={"Support": ["full"], "Billing": ["full"]})
        self._routes = [
            ("POST", r"/api/v1/tickets", self._create_ticket),
            ("GET", r"/api/v1/tickets/search", self._search),
            ("GET", r"/api/v1/tickets/(\d+)", self._show_ticket),
            ("PUT", r"/api/v1/tickets/(\d+)", self._update_ticket),
            ("POST", r"/api/v1/ticket_articles", self._create_article),
            ("GET", r"/api/v1/ticket_articles/by_ticket/(\d+)", self._list_articles),
            ("GET", r"/api/v1/ticket_attachment/(\d+)/(\d+)/(\d+)", self._download),
            ("GET", r"/api/v1/users/me", lambda query, body: (200, self.user_doc(self.bot, query))),
            ("GET", r"/api/v1/users/search", self._search_users),
            ("GET", r"/api/v1/users/(\d+)", lambda query, body, uid: (200, self.user_doc(self._user(uid), query))),
            ("POST", r"/api/v1/users", self._create_user),
        ]

    # -- wiring ------------------------------------------------------------------------------------
    def register(self, mock: responses.RequestsMock) -> None:
        pattern = re.compile(re.escape(self.url) + r"/api/v1/.*")
        for method in ("GET", "POST", "PUT"):
            mock.add_callback(method, pattern, callback=self._answer)

    def lose(self, method: str, path: str) -> None:
        """The next `method` to `path` (a regular expression) reaches Zammad, but its answer is lost."""
        self._losses.append((method, path))

    def _answer(self, request: requests.PreparedRequest) -> Answer | Exception:
        parts = urlsplit(request.url)
        self.requests.append((request.method, parts.path))
        if request.headers.get("Authorization") != f"Token token={self.token}":
            return _json(401, {"error": "authentication failed", "error_human": "authentication failed"})
        if self.script:
            return self.script.pop(0)
        answer = self._route(request.method, parts.path, dict(parse_qsl(parts.query)), request.body)
        for loss in self._losses:
            if loss[0] == request.method and re.fullmatch(loss[1], parts.path):
                self._losses.remove(loss)
                return requests.ConnectionError("Connection reset by peer (after Zammad answered)")
        return answer

    def _route(self, method: str, path: str, query: dict, raw: Any) -> Answer:
        body = json.loads(raw) if raw else {}
        for verb, pattern, handler in self._routes:
            found = re.fullmatch(pattern, path)
            if verb == method and found:
                try:
                    answer = handler(query, body, *found.groups())
                except Refusal as refused:
                    return _json(refused.status, {"error": refused.message, "error_human": refused.message})
                return answer if len(answer) == 3 else _json(*answer)
        return _json(404, {"error": f"No route matches [{method}] \"{path}\""})

    # -- state --------------------------------------------------------------------------------------
    def now(self) -> str:
        """Zammad's clock: always moving, never behind this machine's (the connector links a ticket at
        its own "now" and reads the answers written after it)."""
        self._clock = max(self._clock + timedelta(milliseconds=1), datetime.now(timezone.utc))
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def add_user(self, firstname: str, lastname: str, email: str, *, roles: list[str] = ("Customer",),
                 groups: dict[str, list[str]] | None = None) -> dict:
        uid = len(self.users) + 2      # user 1 is Zammad's system user "-"
        self.users[uid] = {"id": uid, "firstname": firstname, "lastname": lastname, "email": email.lower(),
                           "login": email.lower(), "roles": list(roles), "groups": dict(groups or {}),
                           "created_at": self.now()}
        return self.users[uid]

    def _user(self, uid: Any) -> dict:
        if int(uid) not in self.users:
            raise Refusal(404, f"Couldn't find User with 'id'={uid}")
        return self.users[int(uid)]

    def _ticket(self, tid: Any, right: str = "read") -> dict:
        ticket = self.tickets.get(int(tid))
        if ticket is None:
            raise Refusal(404, f"Couldn't find Ticket with 'id'={tid}")
        self._require(self.groups[ticket["group_id"]], right)
        return ticket

    def _can(self, group: str, right: str) -> bool:
        granted = set(self.bot["groups"].get(group) or ())
        return "full" in granted or right in granted

    def _require(self, group: str, right: str) -> None:
        if not self._can(group, right):
            raise Refusal(403, "Not authorized")

    def ticket_articles(self, tid: int) -> list[dict]:
        return [a for a in self.articles.values() if a["ticket_id"] == int(tid)]

    def download(self, file_id: int) -> bytes:
        return self.files[int(file_id)]["data"]

    # -- tickets ------------------------------------------------------------------------------------
    def _create_ticket(self, query: dict, body: dict) -> tuple[int, dict]:
        if not body.get("title"):
            raise Refusal(422, "Title can't be blank")
        group = next((gid for gid, name in self.groups.items() if name == body.get("group")), None)
        if group is None:
            raise Refusal(422, f"No lookup value found for 'group': \"{body.get('group')}\"")
        self._require(self.groups[group], "create")
        if not isinstance(body.get("article"), dict) or "body" not in body["article"]:
            raise Refusal(422, 'Need at least article: { body: "some text" }')
        customer = self._customer(body.get("customer_id") or body.get("customer"))
        tid = len(self.tickets) + 1
        stamp = self.now()
        self.tickets[tid] = {"id": tid, "group_id": group, "state_id": STATES["new"], "number": str(31000 + tid),
                             "title": body["title"], "customer_id": customer["id"], "created_at": stamp,
                             "updated_at": stamp}
        article = self._add_article(self.tickets[tid], body["article"], self.bot["id"])
        self._auto_reply(self.tickets[tid], article)
        return 201, self.ticket_doc(self.tickets[tid], {})

    def _customer(self, given: Any) -> dict:
        text = str(given or "")
        if text.startswith("guess:"):
            email = text[len("guess:"):].strip().lower()
            found = next((u for u in self.users.values() if u["email"] == email), None)
            return found or self.add_user("", "", email)
        if text.isdigit():
            return self._user(text)
        found = next((u for u in self.users.values() if u["email"] == text.lower()), None)
        if found is None:
            raise Refusal(422, f"No lookup value found for 'customer': \"{text}\"")
        return found

    def _show_ticket(self, query: dict, body: dict, tid: str) -> tuple[int, dict]:
        return 200, self.ticket_doc(self._ticket(tid), query)

    def _update_ticket(self, query: dict, body: dict, tid: str) -> tuple[int, dict]:
        ticket = self._ticket(tid, "change")
        if "state" in body:
            if body["state"] not in STATES:
                raise Refusal(422, f"No lookup value found for 'state': \"{body['state']}\"")
            ticket["state_id"] = STATES[body["state"]]
        ticket["updated_at"] = self.now()
        return 200, self.ticket_doc(ticket, query)

    def _search(self, query: dict, body: dict) -> tuple[int, dict]:
        """Like the search index: `article.FIELD:"words"` matches a ticket one of whose articles has them."""
        found = re.fullmatch(r'article\.(\w+):"([^"]*)"', query.get("query", ""))
        hits = []
        for ticket in self.tickets.values():
            if not self._can(self.groups[ticket["group_id"]], "read"):
                continue
            texts = ([str(a.get(found.group(1)) or "") for a in self.ticket_articles(ticket["id"])] if found
                     else [ticket["title"]])
            words = _words(found.group(2) if found else query.get("query", ""))
            if any(words and words <= _words(text) for text in texts):
                hits.append(ticket["id"])
        hits = hits[:int(query.get("limit", 10))]
        # docs.zammad.org/en/latest/api/ticket/index.html#search
        return 200, {"tickets": hits, "tickets_count": len(hits),
                     "assets": {"Ticket": {str(t): self.ticket_doc(self.tickets[t], {}) for t in hits}}}

    def solve(self, tid: int) -> None:
        self.tickets[int(tid)]["state_id"] = STATES["closed"]

    def state(self, tid: int) -> str:
        return next(name for name, sid in STATES.items() if sid == self.tickets[int(tid)]["state_id"])

    def ticket_doc(self, ticket: dict, query: dict) -> dict:
        """docs.zammad.org/en/latest/api/ticket/index.html (Show, Create); expand: .../api/intro.html."""
        articles = sorted(a["id"] for a in self.ticket_articles(ticket["id"]))
        first = self.articles[articles[0]] if articles else {}
        doc = {"id": ticket["id"], "group_id": ticket["group_id"], "priority_id": 2, "state_id": ticket["state_id"],
               "organization_id": None, "number": ticket["number"], "title": ticket["title"], "owner_id": 1,
               "customer_id": ticket["customer_id"], "note": None, "close_at": None, "pending_time": None,
               "create_article_type_id": first.get("type_id"), "create_article_sender_id": first.get("sender_id"),
               "article_count": len(articles), "preferences": {}, "updated_by_id": self.bot["id"],
               "created_by_id": self.bot["id"], "created_at": ticket["created_at"],
               "updated_at": ticket["updated_at"], "article_ids": articles[::-1], "ticket_time_accounting_ids": []}
        if query.get("expand") == "true":
            doc.update(group=self.groups[ticket["group_id"]], state=self.state(ticket["id"]), priority="2 normal",
                       customer=self.users[ticket["customer_id"]]["login"], owner="-",
                       created_by=self.bot["login"], updated_by=self.bot["login"])
        return doc

    # -- articles -----------------------------------------------------------------------------------
    def _create_article(self, query: dict, body: dict) -> tuple[int, dict]:
        ticket = self._ticket(body.get("ticket_id") or 0, "change")
        if "body" not in body:
            raise Refusal(422, 'Need at least article: { body: "some text" }')
        return 201, self.article_doc(self._add_article(ticket, body, self.bot["id"]))

    def _add_article(self, ticket: dict, fields: dict, by: int) -> dict:
        """What POST /api/v1/ticket_articles stores (app/controllers/concerns/creates_ticket_articles.rb)."""
        files = []
        for index, item in enumerate(fields.get("attachments") or []):
            for name in ("mime-type", "filename", "data"):
                if not item.get(name):
                    raise Refusal(422, f"Attachment needs '{name}' param for attachment with index '{index}'")
            try:
                data = base64.b64decode(str(item["data"]).replace("\n", ""), validate=True)
            except binascii.Error:
                raise Refusal(422, f"Invalid base64 for attachment with index '{index}'") from None
            files.append((item["filename"], item["mime-type"], data))
        aid = len(self.articles) + 1
        stamp = self.now()
        article = {"id": aid, "ticket_id": ticket["id"], "type": fields.get("type", "note"),
                   "sender": fields.get("sender", "Agent"), "from": fields.get("from"), "to": fields.get("to"),
                   "cc": fields.get("cc"), "subject": fields.get("subject"), "message_id": fields.get("message_id"),
                   "references": fields.get("references"), "in_reply_to": fields.get("in_reply_to"),
                   "content_type": fields.get("content_type", "text/html"), "body": fields["body"],
                   "internal": bool(fields.get("internal", False)), "preferences": fields.get("preferences") or {},
                   "origin_by_id": fields.get("origin_by_id"), "created_by_id": by, "created_at": stamp,
                   "file_ids": []}
        if article["type"] not in TYPES or article["sender"] not in SENDERS:
            raise Refusal(422, f"No lookup value found for 'type': \"{article['type']}\"")
        if article["origin_by_id"] is not None:
            self._user(article["origin_by_id"])
        for filename, mime, data in files:
            fid = len(self.files) + 1
            self.files[fid] = {"id": fid, "filename": filename, "size": str(len(data)), "data": data,
                               "preferences": {"Mime-Type": mime}}
            article["file_ids"].append(fid)
        self.articles[aid] = article
        ticket["updated_at"] = stamp
        if article["sender"] == "Agent" and article["type"] == "email":
            self.outgoing_mail.append(aid)      # Zammad mails an agent's email article itself
        return article

    def _auto_reply(self, ticket: dict, article: dict) -> None:
        """The default trigger "auto reply (on new tickets)": answers the customer with a System email."""
        if article["sender"] != "Customer" or article["preferences"].get("send-auto-response") is False:
            return
        reply = self._add_article(ticket, {"type": "email", "sender": "System", "body": "Your request has been "
                                           "received.", "to": self.users[ticket["customer_id"]]["email"]}, 1)
        self.outgoing_mail.append(reply["id"])

    def _list_articles(self, query: dict, body: dict, tid: str) -> tuple[int, list]:
        self._ticket(tid)
        return 200, [self.article_doc(a) for a in sorted(self.ticket_articles(int(tid)), key=lambda a: a["id"])]

    def _download(self, query: dict, body: dict, tid: str, aid: str, fid: str) -> Answer:
        self._ticket(tid)
        if int(fid) not in self.articles.get(int(aid), {}).get("file_ids", []):
            raise Refusal(404, f"Couldn't find Store with 'id'={fid}")
        stored = self.files[int(fid)]
        return 200, {"Content-Type": stored["preferences"]["Mime-Type"]}, stored["data"]

    def article_doc(self, article: dict) -> dict:
        """docs.zammad.org/en/latest/api/ticket/articles.html (List Articles by Ticket, Create)."""
        author = self.users.get(article["created_by_id"], {"login": "-"})
        files = [{k: v for k, v in self.files[f].items() if k != "data"} for f in article["file_ids"]]
        return {"id": article["id"], "ticket_id": article["ticket_id"], "type_id": TYPES[article["type"]],
                "sender_id": SENDERS[article["sender"]], "from": article["from"], "to": article["to"],
                "cc": article["cc"], "subject": article["subject"], "reply_to": None,
                "message_id": article["message_id"],
                "message_id_md5": hashlib.md5(article["message_id"].encode()).hexdigest()
                if article["message_id"] else None,
                "in_reply_to": article["in_reply_to"], "content_type": article["content_type"],
                "references": article["references"], "body": article["body"], "internal": article["internal"],
                "preferences": article["preferences"], "updated_by_id": article["created_by_id"],
                "created_by_id": article["created_by_id"], "origin_by_id": article["origin_by_id"],
                "created_at": article["created_at"], "updated_at": article["created_at"], "attachments": files,
                "type": article["type"], "sender": article["sender"], "created_by": author["login"],
                "updated_by": author["login"]}

    def agent_answer(self, tid: int, text: str, *, public: bool = True, kind: str = "note",
                     files: tuple[tuple[str, str, bytes], ...] = (), cc: str | None = None) -> dict:
        """Emma, a human agent, writes on the ticket in Zammad's web UI (HTML, like the UI does)."""
        ticket = self.tickets[int(tid)]
        attachments = [{"filename": name, "mime-type": mime, "data": base64.b64encode(data).decode()}
                       for name, mime, data in files]
        return self._add_article(ticket, {"type": kind, "sender": "Agent", "internal": not public, "cc": cc,
                                          "from": "Emma Taylor", "body": f"<p>{text}</p>",
                                          "content_type": "text/html", "attachments": attachments},
                                 self.agent["id"])

    # -- users --------------------------------------------------------------------------------------
    def _search_users(self, query: dict, body: dict) -> tuple[int, list]:
        wanted = query.get("query", "").lower()
        hits = [u for u in self.users.values() if wanted and any(wanted in str(u[k]).lower()
                                                                  for k in ("email", "firstname", "lastname"))]
        return 200, [self.user_doc(u, {}) for u in hits[:int(query.get("limit", 10))]]

    def _create_user(self, query: dict, body: dict) -> tuple[int, dict]:
        email = str(body.get("email") or "").lower()
        if any(u["email"] == email for u in self.users.values()):
            raise Refusal(422, f"Email address '{email}' is already used for another user.")
        return 201, self.user_doc(self.add_user(body.get("firstname", ""), body.get("lastname", ""), email), {})

    def user_doc(self, user: dict, query: dict) -> dict:
        """docs.zammad.org/en/latest/api/user.html; `?expand=true` adds roles and groups by name (api/intro.html)."""
        ids = {"Admin": 1, "Agent": 2, "Customer": 3}
        doc = {"id": user["id"], "organization_id": None, "login": user["login"], "firstname": user["firstname"],
               "lastname": user["lastname"], "email": user["email"], "active": True, "vip": False, "note": "",
               "role_ids": [ids[r] for r in user["roles"]], "created_at": user["created_at"],
               "updated_at": user["created_at"],
               "group_ids": {str(g): user["groups"][n] for g, n in self.groups.items() if n in user["groups"]}}
        if query.get("expand") == "true":
            doc.update(roles=list(user["roles"]), groups=dict(user["groups"]), organization=None)
        return doc

    # -- the trigger's webhook ----------------------------------------------------------------------
    def webhook_call(self, tid: int, article: dict | None = None, *, secret: str = SECRET,
                     at: float | None = None) -> WebhookCall:
        """What a trigger with a Webhook action POSTs: the default payload, signed like lib/user_agent.rb does.
        Payload: admin-docs.zammad.org/en/latest/manage/webhook/payload.html (headers and JSON)."""
        ticket = self.ticket_doc(self.tickets[int(tid)], {"expand": "true"})
        payload = {"ticket": ticket, "article": self.article_doc(article) if article else {}}
        body = json.dumps(payload).encode()
        headers = {"user-agent": "Zammad User Agent", "content-type": "application/json; charset=utf-8",
                   "x-zammad-trigger": "gmail-connector: agent answered",
                   "x-zammad-delivery": hashlib.sha1(body).hexdigest()[:24]}
        if secret:
            headers["x-hub-signature"] = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        return WebhookCall(headers=headers, body=body, path_secret=None, received_at=at or time.time())


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _json(status: int, payload: Any) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(payload).encode()
