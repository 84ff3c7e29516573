"""The signed webhook destination (HELPDESK=webhook): every port call POSTs one signed JSON event.

For any system that is not a supported helpdesk; the schema is docs/webhook.md. An event's `id` is
the caller's idempotency key, so a redelivery carries the id of the first attempt, and the receiver
must answer a replayed id with its first answer. That makes the redelivery itself the lookup: a
retried `ticket.created` gets back the ticket the receiver made the first time. Hence
`find_ticket` / `find_message` return None: there is nothing to ask that resending does not tell.
"""
from __future__ import annotations

import base64
import email.utils
import hashlib
import ipaddress
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Sequence
from urllib.parse import parse_qs, urlsplit

import requests

from connector.helpdesk.port import (CheckResult, CredentialsRefused, Delivered, FileToDeliver, HelpdeskMessage,
                                     HelpdeskRefused, HelpdeskUnavailable, NewHelpdeskTicket, Person)
from connector.helpdesk.signing import HEADER, sign

# (connect, read): a receiver may take a while over an event with several MB of inline attachments.
TIMEOUT = (5.0, 30.0)
USER_AGENT = "gmail-connector"
SNIPPET_CHARS = 200


class SignedWebhook:
    name = "webhook"

    def __init__(self, url: str, secret: str, *, inline_max_bytes: int, link_for: Callable[[int], str] | None,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time,
                 timeout: tuple[float, float] = TIMEOUT):
        self.url, self._secret = url, secret
        self.inline_max_bytes, self.link_for = inline_max_bytes, link_for
        self._session = session if session is not None else requests.Session()
        self._clock, self._timeout = clock, timeout
        # Messages name the host only: a URL may carry a user, a password or a token in its query.
        self._where = urlsplit(url).hostname or "WEBHOOK_URL"

    def open_ticket(self, ticket: NewHelpdeskTicket) -> Delivered:
        answer = self._deliver(self._event(ticket.key, "ticket.created", _new_ticket(ticket), ticket.first))
        return Delivered(_ticket_id(answer, str(ticket.our_ticket_id)), url=_link(answer))

    def add_message(self, remote_ticket_id: str, message: HelpdeskMessage) -> Delivered:
        kind = "comment.added" if message.public else "note.added"
        ticket = {"id": message.our_ticket_id or None, "remote_id": remote_ticket_id}
        answer = self._deliver(self._event(message.key, kind, ticket, message))
        return Delivered(_ticket_id(answer, remote_ticket_id), url=_link(answer))

    def reopen(self, remote_ticket_id: str, key: str) -> None:
        # The port hands over no ticket id of ours here; remote_id is what the receiver answered (or ours).
        self._deliver(self._event(key, "ticket.reopened", {"remote_id": remote_ticket_id}))

    def find_ticket(self, key: str) -> Delivered | None:
        return None

    def find_message(self, remote_ticket_id: str, key: str) -> Delivered | None:
        return None

    def ticket_url(self, remote_ticket_id: str) -> str | None:
        return None             # only the receiver knows; its answer's "url" travels in Delivered.url

    def check(self, queues: Sequence[str]) -> CheckResult:
        result = CheckResult(destination=f"webhook {self._where}")
        if not self.url:
            result.problems.append("WEBHOOK_URL is empty: set it to the receiver's https:// address")
            return result
        if not self._secret:
            result.problems.append("WEBHOOK_SECRET is empty: set the same long random value (openssl rand -hex 32) "
                                   "here and in the receiver")
        if urlsplit(self.url).scheme != "https" and not _is_loopback(self._where):
            result.problems.append(f"WEBHOOK_URL is not https:// and {self._where} is not this machine: "
                                   "mail content would cross the network unencrypted")
        ping = {"id": f"ping-{uuid.uuid4().hex}", "type": "ping", "created_at": _iso_at(self._clock()),
                "queues": list(queues)}
        try:
            response = self._send(ping)
        except (HelpdeskUnavailable, HelpdeskRefused) as exc:
            result.problems.append(f"{exc.reason}; is the receiver running, and is WEBHOOK_URL right?")
            return result
        status = response.status_code
        if 200 <= status < 300:
            result.ok.append(f"{self._where} accepted a signed ping ({status})")
        elif status in (400, 401, 403):
            # 400 too: Stripe's receivers answer a bad signature with it, and a ping has nothing else to refuse.
            result.problems.append(f"{self._where} refused a signed ping ({status}: {self._said(response)}): "
                                   "WEBHOOK_SECRET differs from the receiver's, or this clock is 5+ minutes off")
        elif status == 429 or status >= 500:
            result.problems.append(f"{self._where} answered {status} to a ping: it is up but failing; "
                                   "events wait and are retried")
        else:
            result.problems.append(f"{self._where} answered {status} to a ping: {self._said(response)}; it must "
                                   "answer 2xx to every correctly signed event, ping included")
        if queues:
            result.ok.append(f"queues need no rights here: each ticket.created names one ({', '.join(queues)})")
        return result

    def close(self) -> None:
        self._session.close()

    def _event(self, key: str, kind: str, ticket: dict, message: HelpdeskMessage | None = None) -> dict:
        event: dict[str, Any] = {"id": key, "type": kind, "created_at": _iso_at(self._clock()), "ticket": ticket}
        if message is not None:
            event["message"] = self._message(message)
        return event

    def _message(self, message: HelpdeskMessage) -> dict:
        return {"key": message.key, "message_id": message.message_id, "author": _person(message.author),
                "public": message.public, "body_text": message.body_text, "body_html": message.body_html,
                "created_at": _iso(message.created_at), "cc": [_person(p) for p in message.cc],
                "attachments": [self._file(f) for f in message.attachments]}

    def _file(self, file: FileToDeliver) -> dict:
        size = len(file.payload)
        entry = {"filename": file.filename, "content_type": file.content_type, "size": size,
                 "sha256": hashlib.sha256(file.payload).hexdigest(), "inline": file.inline,
                 "content_id": file.content_id}
        if size > self.inline_max_bytes and self.link_for is not None and file.attachment_id is not None:
            url = self.link_for(file.attachment_id)
            return {**entry, "content_base64": None, "url": url, "expires_at": _expires_at(url)}
        # A file with no stored attachment to link to (original.eml) travels inline whatever its
        # size: the operator asked for it (HELPDESK_ATTACH_ORIGINAL), and a note would lose it.
        return {**entry, "content_base64": base64.b64encode(file.payload).decode("ascii"), "url": None,
                "expires_at": None}

    def _send(self, event: dict) -> requests.Response:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   HEADER: sign(self._secret, body, int(self._clock())),
                   "Gmail-Connector-Event": event["type"], "Gmail-Connector-Event-Id": event["id"]}
        try:
            # No redirects: requests would replay a POST as a GET, and a 3xx is a WEBHOOK_URL to fix.
            return self._session.post(self.url, data=body, headers=headers, timeout=self._timeout,
                                      allow_redirects=False)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise HelpdeskRefused("WEBHOOK_URL is not a usable http:// or https:// address") from exc
        except requests.Timeout as exc:
            raise HelpdeskUnavailable(f"the webhook at {self._where} did not answer in time") from exc
        except requests.RequestException as exc:
            raise HelpdeskUnavailable(f"cannot reach the webhook at {self._where}: {type(exc).__name__}") from exc

    def _deliver(self, event: dict) -> dict:
        response = self._send(event)
        status = response.status_code
        if 200 <= status < 300:
            return _answer(response)
        what = f"the webhook at {self._where} answered {status} to {event['type']} {event['id']}"
        if status == 429 or status >= 500:
            wait = _retry_after(response.headers.get("Retry-After"), self._clock())
            raise HelpdeskUnavailable(f"{what}: {self._said(response)}", retry_after=wait)
        if status in (401, 403):
            raise CredentialsRefused(f"{what}: {self._said(response)} (401: WEBHOOK_SECRET differs from the "
                                     "receiver's?)")
        if 300 <= status < 400:
            raise HelpdeskRefused(f"{what} (a redirect): set WEBHOOK_URL to the address it points at")
        raise HelpdeskRefused(f"{what}: {self._said(response)}")

    def _said(self, response: requests.Response) -> str:
        """The start of the receiver's answer on one line; a receiver echoing its input never echoes the secret."""
        text = " ".join(response.text.split())[:SNIPPET_CHARS]
        return (text.replace(self._secret, "[secret]") if self._secret else text) or "(empty answer)"


def _new_ticket(ticket: NewHelpdeskTicket) -> dict:
    return {"id": ticket.our_ticket_id, "key": ticket.key, "subject": ticket.subject,
            "requester": _person(ticket.requester), "queue": ticket.queue, "cc": [_person(p) for p in ticket.cc]}


def _person(person: Person) -> dict:
    return {"name": person.name, "email": person.email}


def _answer(response: requests.Response) -> dict:
    # A bare 2xx is a valid answer: the receiver then keeps our ticket id as its own.
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _ticket_id(answer: dict, default: str) -> str:
    value = answer.get("ticket_id")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return default


def _link(answer: dict) -> str | None:
    url = answer.get("url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _expires_at(url: str) -> str | None:
    expires = parse_qs(urlsplit(url).query).get("expires", [""])[0]
    return _iso_at(int(expires)) if expires.isascii() and expires.isdigit() else None


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header, delta-seconds or HTTP-date; None when absent or unreadable."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def _iso(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)     # the store keeps UTC
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso_at(unix: float) -> str:
    return _iso(datetime.fromtimestamp(unix, timezone.utc))


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
