"""`helpdesk check` for Freshdesk: reachable, the API key accepted, each queue a group the agent can work in.

Read-only: the agent's own record (GET /api/v2/agents/me) says its ticket scope (1 global,
2 its groups, 3 only tickets assigned to it) and its groups; the group names come from the
Directory. The connector needs to see every ticket it opened, so scope 3 is a problem, and with
scope 2 each queue must be one of the agent's groups.
"""
from __future__ import annotations

from typing import Sequence

from connector.helpdesk.freshdesk_api import FreshdeskApi
from connector.helpdesk.freshdesk_directory import Directory
from connector.helpdesk.port import CheckResult, HelpdeskError

GLOBAL, GROUPS, RESTRICTED = 1, 2, 3


def check_freshdesk(api: FreshdeskApi, directory: Directory, webhook_secret: str,
                    queues: Sequence[str]) -> CheckResult:
    result = CheckResult(destination=f"freshdesk {api.where}")
    try:
        me = directory.me()
    except HelpdeskError as exc:
        result.problems.append(exc.reason)
        return result
    contact = me.get("contact") or {}
    who = f"{contact.get('name') or 'agent'} <{contact.get('email') or '?'}> (agent #{me.get('id')})"
    result.ok.append(f"Freshdesk at {api.where} accepts the API key of {who}")
    scope = me.get("ticket_scope")
    if scope == RESTRICTED:
        result.problems.append(f"{who} has Restricted Access (only tickets assigned to it): give it Global access "
                               "in Admin > Team > Agents, or the connector cannot read its own tickets back")
    if not webhook_secret:
        result.problems.append("HELPDESK_WEBHOOK_SECRET is empty: the automation rule's calls for agents' answers "
                               "cannot be checked, so none is accepted")
    try:
        groups = directory.groups(refresh=True)
    except HelpdeskError as exc:
        result.problems.append(f"groups: {exc.reason}")
        return result
    mine = set(me.get("group_ids") or [])
    for queue in dict.fromkeys(q.strip() for q in queues):
        result_line = _queue_line(queue, groups, mine if scope == GROUPS else None, who)
        (result.ok if result_line[0] else result.problems).append(result_line[1])
    return result


def _queue_line(queue: str, groups: dict[str, int], mine: set | None, who: str) -> tuple[bool, str]:
    if not queue:
        return True, "queue (empty): tickets get Freshdesk's default group"
    if queue.isascii() and queue.isdigit():
        number, known = int(queue), int(queue) in groups.values()
    else:
        number, known = groups.get(queue.casefold(), 0), queue.casefold() in groups
    if not known:
        return False, f"queue {queue}: no such group in Freshdesk (Admin > Team > Groups; a name or its id)"
    if mine is not None and number not in mine:
        return False, f"queue {queue}: {who} sees only its groups' tickets and is not in group #{number}"
    return True, f"queue {queue}: group #{number}"
