"""`helpdesk check` for Zammad: reachable, ZAMMAD_TOKEN accepted, and per group what its user may do there.

Read-only: GET /api/v1/users/me?expand=true names the token's user and its group access by group
name. The connector needs "read", "create" and "change" (or "full") on every group it delivers to.
Group access granted through a role is not listed on the user, so the problem line says so.
"""
from __future__ import annotations

from typing import Sequence

from connector.helpdesk.json_api import JsonApi
from connector.helpdesk.port import CheckResult, HelpdeskError

NEEDED = {"read", "create", "change"}


def check_zammad(api: JsonApi, groups: Sequence[str]) -> CheckResult:
    result = CheckResult(destination=f"zammad {api.where}")
    try:
        me = api.get("/api/v1/users/me", {"expand": "true"}) or {}
    except HelpdeskError as exc:
        result.problems.append(exc.reason)
        return result
    who = str(me.get("login") or me.get("email") or f"user {me.get('id')}")
    result.ok.append(f"Zammad at {api.where} accepts ZAMMAD_TOKEN (user {who})")
    access = me.get("groups") if isinstance(me.get("groups"), dict) else {}
    for name in dict.fromkeys(groups):
        rights = set(access.get(name) or ())
        if "full" in rights or NEEDED <= rights:
            result.ok.append(f"group {name}: {who} may create tickets, add articles and read them")
            continue
        missing = ", ".join(sorted(NEEDED - rights))
        result.problems.append(f"group {name}: {who} lacks {missing} access (Admin > Users > {who} > Group "
                               f"permissions; access given through a role is not visible to this check), or the "
                               f"group does not exist: HELPDESK_QUEUES must name Zammad groups exactly")
    return result
