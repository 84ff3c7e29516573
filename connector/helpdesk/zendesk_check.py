"""`helpdesk check` for Zendesk: credentials, the API user's role, each queue's group, and mail Zendesk would send.

Read-only. The API user must be an agent or admin (end users cannot write comments for others or
read a ticket's audits). An active trigger that emails the requester and does not leave the
connector's tickets (tag gmail_connector) alone would mail customers beside the connector's own
Gmail replies (automations likewise); listing them needs an admin, so for an agent that part is
only a reminder (https://developer.zendesk.com/api-reference/ticketing/business-rules/triggers/,
https://developer.zendesk.com/api-reference/ticketing/business-rules/automations/).
"""
from __future__ import annotations

from typing import Sequence

from connector.helpdesk.port import CheckResult, HelpdeskError
from connector.helpdesk.zendesk_api import ZendeskApi
from connector.helpdesk.zendesk_content import TAG
from connector.helpdesk.zendesk_directory import Groups

AGENT_ROLES = ("agent", "admin")
_REQUESTER = ("requester_id", "requester_and_ccs")     # notification_user targets that reach the customer


def check_zendesk(api: ZendeskApi, groups: Groups, queues: Sequence[str]) -> CheckResult:
    result = CheckResult(destination=f"zendesk {api.where}")
    try:
        me = api.get("/api/v2/users/me").get("user") or {}
    except HelpdeskError as exc:
        result.problems.append(exc.reason)
        return result
    role = str(me.get("role") or "")
    if not me.get("id") or role not in AGENT_ROLES:
        result.problems.append(f"{api.identity} signs in as {role or 'an anonymous user'}: the API token must "
                               "belong to an agent or admin")
        return result
    result.ok.append(f"Zendesk at {api.where} accepts {api.identity} ({role})")
    groups.forget()
    for queue in dict.fromkeys(queues):
        try:
            group = groups.lookup(queue)
        except HelpdeskError as exc:
            result.problems.append(f"queue {queue}: {exc.reason}")
            continue
        if group is None:
            result.problems.append(f"queue {queue}: Zendesk has no group {queue!r} that {api.identity} can see "
                                   "(HELPDESK_QUEUES takes a group's name or id)")
        else:
            result.ok.append(f"queue {queue}: group {group.name} (id {group.id})")
    _check_triggers(api, role, result)
    return result


# (kind, path, list name): "List Active Ticket Triggers" and "List Active Automations" in the docs above.
_RULES = (("trigger", "/api/v2/triggers/active", "triggers"),
          ("automation", "/api/v2/automations/active", "automations"))


def _check_triggers(api: ZendeskApi, role: str, result: CheckResult) -> None:
    if role != "admin":
        result.ok.append(f"triggers and automations not checked (only an admin may list them): none may email "
                         f"the requester of tickets tagged {TAG} (docs/helpdesks.md)")
        return
    for kind, path, listed in _RULES:
        try:
            rules = [rule for page in api.pages(path) for rule in page.get(listed) or []]
        except HelpdeskError as exc:
            result.problems.append(f"could not list Zendesk's {listed}: {exc.reason}")
            continue
        mailing = [rule for rule in rules if _mails_requester(rule) and not _spares_us(rule)]
        for rule in mailing:
            result.problems.append(f"active {kind} {rule.get('title')!r} (id {rule.get('id')}) emails the "
                                   f"requester: Zendesk would mail customers itself. Add the condition \"Tags "
                                   f"contains none of {TAG}\" to it, or deactivate it")
        if not mailing:
            result.ok.append(f"no active {kind} emails the requester of tickets tagged {TAG}")


def _mails_requester(trigger: dict) -> bool:
    # Actions reference: notification_user's value is [recipient, subject, body]
    # (https://developer.zendesk.com/documentation/ticketing/reference-guides/actions-reference/).
    for action in trigger.get("actions") or []:
        value = action.get("value")
        recipient = value[0] if isinstance(value, list) and value else value
        if action.get("field") == "notification_user" and str(recipient) in _REQUESTER:
            return True
    return False


def _spares_us(trigger: dict) -> bool:
    """True when one of the trigger's "all" conditions leaves tickets tagged gmail_connector out."""
    for condition in (trigger.get("conditions") or {}).get("all") or []:
        if (condition.get("field") == "current_tags" and condition.get("operator") == "not_includes"
                and TAG in str(condition.get("value") or "").split()):
            return True
    return False
