"""A mailbox's settings: forwarding addresses, filters, auto-forwarding and sendAs, with Gmail's rules."""
from __future__ import annotations

import secrets

from sandbox import search
from sandbox.errors import ApiError, internal_error, invalid, not_found, precondition
from sandbox.labels import LabelSet
from sandbox.mailbox import Mailbox, StoredMessage

MAX_FILTERS = 1000
_DISPOSITIONS = ("leaveInInbox", "archive", "trash", "markRead")
_CRITERIA = ("from", "to", "subject", "query", "negatedQuery", "hasAttachment", "excludeChats", "size",
             "sizeComparison")


class MailSettings:
    def __init__(self, address: str) -> None:
        self.address = address
        self.forwarding: dict[str, str] = {}
        self.confirmations: dict[str, str] = {}          # confirmation token -> forwarding email
        self.filters: dict[str, dict] = {}
        self.auto_forwarding: dict = {"enabled": False}
        self.aliases: list[dict] = []                    # send-as addresses beside the primary one

    # ---- forwarding addresses ----------------------------------------------------------------
    def forwarding_json(self, email: str) -> dict:
        status = self.forwarding.get(email.lower())
        if status is None:
            raise not_found()
        return {"forwardingEmail": email.lower(), "verificationStatus": status}

    def add_forwarding(self, email: str, status: str) -> str | None:
        """Record the address; return a confirmation token when Google would mail one."""
        email = email.lower()
        if email in self.forwarding:
            raise ApiError(409, "Already exists", "alreadyExists", "ALREADY_EXISTS")
        self.forwarding[email] = status
        if status == "accepted":
            return None
        token = secrets.token_urlsafe(24)
        self.confirmations[token] = email
        return token

    def confirm(self, token: str) -> str | None:
        email = self.confirmations.pop(token, None)
        if email and email in self.forwarding:
            self.forwarding[email] = "accepted"
        return email

    def delete_forwarding(self, email: str) -> None:
        if self.forwarding.pop(email.lower(), None) is None:
            raise not_found()

    def _require_accepted(self, email: str) -> None:
        if self.forwarding.get(str(email).lower()) != "accepted":
            raise precondition("Unrecognized forwarding address")

    # ---- filters ------------------------------------------------------------------------------
    def create_filter(self, body: dict, labels: LabelSet) -> dict:
        criteria = {k: v for k, v in (body.get("criteria") or {}).items() if k in _CRITERIA and v not in ("", None)}
        action = {k: v for k, v in (body.get("action") or {}).items()
                  if k in ("addLabelIds", "removeLabelIds", "forward") and v}
        if not criteria:
            raise invalid("Filter doesn't have any criteria")
        if not action:
            raise invalid("Filter doesn't have any actions")
        labels.require(action.get("addLabelIds", []) + action.get("removeLabelIds", []))
        if "forward" in action:
            self._require_accepted(action["forward"])
        # Gmail refuses a filter whose criteria and actions equal an existing one with a 400 "Filter
        # already exists" (seen by elie222/inbox-zero #1134); another action on the same criteria is fine.
        if any(_same(rule, criteria, action) for rule in self.filters.values()):
            raise precondition("Filter already exists")
        # At the 1,000-filter cap Gmail answers a bare 500, not a validation error: clients learn of the
        # cap only by counting their filters (elie222/inbox-zero #1192).
        if len(self.filters) >= MAX_FILTERS:
            raise internal_error()
        rule = {"id": "ANe1Bm" + secrets.token_hex(8), "criteria": criteria, "action": action}
        self.filters[rule["id"]] = rule
        return rule

    def get_filter(self, filter_id: str) -> dict:
        if filter_id not in self.filters:
            raise not_found()
        return self.filters[filter_id]

    def delete_filter(self, filter_id: str) -> None:
        if self.filters.pop(filter_id, None) is None:
            raise not_found()

    # ---- auto-forwarding and sendAs -------------------------------------------------------------
    def update_auto_forwarding(self, body: dict) -> dict:
        enabled = bool(body.get("enabled"))
        if not enabled:
            self.auto_forwarding = {"enabled": False}
            return self.auto_forwarding
        disposition = body.get("disposition") or "leaveInInbox"
        if disposition not in _DISPOSITIONS:
            raise invalid(f"Invalid disposition: {disposition}")
        self._require_accepted(body.get("emailAddress") or "")
        self.auto_forwarding = {"enabled": True, "emailAddress": str(body["emailAddress"]).lower(),
                                "disposition": disposition}
        return self.auto_forwarding

    def send_as(self) -> list[dict]:
        primary = {"sendAsEmail": self.address, "displayName": "", "replyToAddress": "", "signature": "",
                   "isPrimary": True, "isDefault": True}
        return [primary] + [dict(alias) for alias in self.aliases]

    def add_send_as(self, email: str, display_name: str = "") -> dict:
        """A verified "Send mail as" alias, as an administrator would add it (tests set these up)."""
        alias = {"sendAsEmail": email.lower(), "displayName": display_name, "replyToAddress": "", "signature": "",
                 "isPrimary": False, "isDefault": False, "treatAsAlias": True, "verificationStatus": "accepted"}
        self.aliases.append(alias)
        return dict(alias)


def _same(rule: dict, criteria: dict, action: dict) -> bool:
    def canonical(part: dict) -> dict:
        return {k: sorted(v) if isinstance(v, list) else v for k, v in part.items()}
    return canonical(rule["criteria"]) == canonical(criteria) and canonical(rule["action"]) == canonical(action)


def filter_matches(rule: dict, msg: StoredMessage, box: Mailbox) -> bool:
    """Gmail filter criteria: every given criterion must hold, each read as Gmail search reads it.

    A filter in Gmail is a saved search, so `from`, `to` and `subject` match whole words and addresses
    as the search operators do, not substrings."""
    return all(search.parse(query).matches(msg, box) != negated for query, negated in _criteria_queries(rule))


def _criteria_queries(rule: dict) -> list[tuple[str, bool]]:
    criteria, queries = rule["criteria"], []
    if "from" in criteria:
        queries.append((f"from:({criteria['from']})", False))
    if "to" in criteria:
        # FilterCriteria.to "Includes recipients in the to, cc, and bcc header fields" (Gmail API reference,
        # users.settings.filters; the same text is in the discovery document): never Delivered-To, so mail
        # reaching the mailbox through a list or a hidden Bcc does not match.
        value = criteria["to"]
        queries.append((f"{{to:({value}) cc:({value}) bcc:({value})}}", False))
    if "subject" in criteria:
        queries.append((f"subject:({criteria['subject']})", False))
    if "query" in criteria:
        queries.append((criteria["query"], False))
    if "negatedQuery" in criteria:
        queries.append((criteria["negatedQuery"], True))
    if criteria.get("hasAttachment"):
        queries.append(("has:attachment", False))
    if criteria.get("size"):
        comparison = "smaller" if criteria.get("sizeComparison") == "smaller" else "larger"
        queries.append((f"{comparison}:{int(criteria['size'])}", False))
    return queries
