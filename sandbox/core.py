"""The sandbox's one stateful core: mailboxes, settings, tokens, quota, faults and the mail that flows."""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timezone

from sandbox import forwarding, mime, outgoing
from sandbox.errors import not_found, rate_limited
from sandbox.faults import FaultInjector
from sandbox.mailbox import Mailbox, StoredMessage
from sandbox.oauth import OAuthServer
from sandbox.push import PushHub, Watch
from sandbox.quota import QuotaMeter
from sandbox.relay import Outgoing, relay
from sandbox.settings_api import MailSettings, filter_matches

DAILY_SEND_CAP = {"consumer": 500, "workspace": 2000}
_DISPOSITION = {"archive": ([], ["INBOX"]), "trash": (["TRASH"], ["INBOX"]), "markRead": ([], ["UNREAD"])}


def _category(msg: StoredMessage) -> str:
    parsed = msg.parsed
    if parsed.get("List-Id") or parsed.get("List-Unsubscribe"):
        return "CATEGORY_FORUMS" if parsed.get("List-Post") else "CATEGORY_PROMOTIONS"
    if str(parsed.get("Auto-Submitted", "no")).lower() != "no" or parsed.get("X-Autoreply"):
        return "CATEGORY_UPDATES"
    return "CATEGORY_PERSONAL"


class Sandbox:
    def __init__(self, mailboxes=(), quota_tier: str = "2026", smtp_routes=None) -> None:
        self.lock = threading.RLock()
        self.boxes: dict[str, Mailbox] = {}
        self.settings: dict[str, MailSettings] = {}
        self.quota = QuotaMeter(quota_tier)
        self.faults = FaultInjector()
        self.oauth = OAuthServer(self.delegable)
        self.smtp_routes = {d.lower(): tuple(r) for d, r in (smtp_routes or {}).items()}
        self.sent: list[dict] = []
        self.forwarded: list[dict] = []
        self.base_url = ""
        self._send_times: dict[str, deque[float]] = {}
        self.watches: dict[str, Watch] = {}              # users.watch, per mailbox
        self.push = PushHub(self)                        # publishes once given an emulator
        for address in mailboxes:
            self.add_mailbox(address)

    # ---- mailboxes -----------------------------------------------------------------------
    def add_mailbox(self, address: str) -> Mailbox:
        with self.lock:
            key = address.lower()
            if key not in self.boxes:
                self.boxes[key] = Mailbox(key)
                self.settings[key] = MailSettings(key)
            return self.boxes[key]

    def mailbox(self, address: str) -> Mailbox:
        box = self.boxes.get(address.lower())
        if box is None:
            raise not_found()
        return box

    def delegable(self, address: str) -> bool | None:
        """None: no such user; False: consumer accounts never allow domain-wide delegation."""
        box = self.boxes.get(address.lower())
        return None if box is None else not box.consumer

    # ---- mail arriving ---------------------------------------------------------------------
    def deliver(self, to_address: str, raw: bytes, label_ids=None, internal_date_ms: int | None = None) -> str:
        """Mail arriving from outside by SMTP: labels, threading, history, then filters and forwarding."""
        with self.lock:
            msg, outbox = self._arrive(to_address, raw, label_ids, internal_date_ms)
        self.flush(outbox)
        return msg.id

    def _arrive(self, to_address, raw, label_ids, internal_date_ms):
        box = self.mailbox(to_address)
        raw = f"Delivered-To: {box.address}\r\n".encode() + raw
        msg = box.add(raw, label_ids if label_ids is not None else ["INBOX", "UNREAD"], internal_date_ms)
        if label_ids is None:
            category = _category(msg)
            msg.labels.add(category)
            if category == "CATEGORY_PERSONAL":
                # Gmail's importance markers flag mail on arrival (support.google.com/mail/answer/186543);
                # mail from a person here, so no code assumes arriving mail has only INBOX and UNREAD.
                msg.labels.add("IMPORTANT")
        outbox = self._apply_settings(box, msg)
        box.history[-1].message = msg.brief()     # filters act before the arrival is visible
        return msg, outbox

    def _apply_settings(self, box: Mailbox, msg: StoredMessage) -> list[Outgoing]:
        settings, targets = self.settings[box.address], []
        for rule in list(settings.filters.values()):
            if filter_matches(rule, msg, box):
                action = rule["action"]
                msg.labels |= set(action.get("addLabelIds", []))
                msg.labels -= set(action.get("removeLabelIds", []))
                if action.get("forward"):
                    targets.append(action["forward"])
        auto = settings.auto_forwarding
        if auto.get("enabled"):
            targets.append(auto["emailAddress"])
            add, remove = _DISPOSITION.get(auto.get("disposition", ""), ([], []))
            msg.labels = (msg.labels | set(add)) - set(remove)
        if forwarding.already_forwarded_by(msg.raw, box.address):
            return []
        outbox = []
        for target in dict.fromkeys(t.lower() for t in targets):
            copy, envelope = forwarding.forwarded_copy(msg.raw, box.address, target)
            outbox.append(Outgoing("forwarded", envelope, target, copy,
                                   {"mailbox": box.address, "message_id": msg.id}))
        return outbox

    def flush(self, outbox: list[Outgoing]) -> None:
        """Hand outgoing mail on, outside the lock: an SMTP peer may call back into the sandbox."""
        for item in outbox:
            if item.to in self.boxes:
                self.deliver(item.to, item.raw)
                status = "delivered"
            else:
                status = relay(item, self.smtp_routes)
            record = item.as_record(status)
            with self.lock:
                (self.forwarded if item.kind == "forwarded" else self.sent).append(record)

    # ---- mail leaving ----------------------------------------------------------------------
    def send(self, address: str, raw: bytes, thread_id: str | None = None) -> StoredMessage:
        with self.lock:
            box = self.mailbox(address)
            self._check_send_cap(box)
            raw = outgoing.complete_headers(raw, box.address)
            raw = outgoing.hold_from_to_send_as(raw, self.settings[box.address].send_as())
            parsed = mime.parse(raw)
            recipients = list(dict.fromkeys(mime.addresses(parsed, "To", "Cc", "Bcc")))
            labels = ["SENT"] + (["INBOX"] if box.address in recipients else [])
            msg = box.add(raw, labels, thread_hint=thread_id)
            public = outgoing.without_bcc(raw)
            outbox = [Outgoing("sent", box.address, rcpt, public, {"id": msg.id, "threadId": msg.thread_id,
                                                                    "mailbox": box.address})
                      for rcpt in recipients if rcpt != box.address]
        self.flush(outbox)
        return msg

    def _check_send_cap(self, box: Mailbox) -> None:
        now = time.time()
        times = self._send_times.setdefault(box.address, deque())
        while times and times[0] <= now - 86400:
            times.popleft()
        cap = DAILY_SEND_CAP["consumer" if box.consumer else "workspace"]
        if len(times) >= cap:
            wait = int(times[0] + 86400 - now) + 1
            at = datetime.fromtimestamp(now + wait, timezone.utc)
            raise rate_limited(wait, at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), " (Mail sending)")
        times.append(now)

    def record_sends(self, address: str, count: int) -> None:
        """Pretend `count` messages were already sent today (tests of the daily cap)."""
        with self.lock:
            self._send_times.setdefault(address.lower(), deque()).extend([time.time()] * count)

    # ---- forwarding addresses ------------------------------------------------------------------
    def create_forwarding(self, address: str, email: str) -> dict:
        with self.lock:
            box = self.mailbox(address)
            settings = self.settings[box.address]
            same_domain = email.lower().rpartition("@")[2] == box.domain
            token = settings.add_forwarding(email, "accepted" if same_domain else "pending")
            answer = settings.forwarding_json(email)
            outbox = []
            if token:
                link = f"{self.base_url}/_sandbox/forwarding/confirm?token={token}"
                raw, code = forwarding.confirmation_mail(box.address, email.lower(), link)
                outbox.append(Outgoing("confirmation", forwarding.NOREPLY, email.lower(), raw,
                                       {"mailbox": box.address, "code": code}))
        self.flush(outbox)
        return answer

    def confirm_forwarding(self, token: str) -> str | None:
        with self.lock:
            for settings in self.settings.values():
                email = settings.confirm(token)
                if email:
                    return email
        return None

    # ---- observation -----------------------------------------------------------------------------
    def stats(self) -> dict:
        with self.lock:
            boxes = {addr: {"units_total": self.quota.totals[addr], "units_last_minute": self.quota.last_minute(addr),
                            "calls": dict(self.quota.calls.get(addr, {})), "messages": len(box.messages),
                            "history_id": str(box.history_id)} for addr, box in self.boxes.items()}
            return {"tier": self.quota.tier, "mailboxes": boxes}
