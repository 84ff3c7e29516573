"""`helpdesk check` for FreeScout: reachable, API key accepted, a mailbox per queue, a user for notes, a secret.

Read-only: it lists mailboxes and users and writes nothing. The webhook for agents' answers cannot
be seen through the API (https://api-docs.freescout.net/#webhooks has create and delete only), so
the guide's setup steps say how to make it.
"""
from __future__ import annotations

from typing import Sequence

from connector.helpdesk.freescout_api import FreeScoutApi
from connector.helpdesk.freescout_directory import Directory, describe
from connector.helpdesk.port import CheckResult, HelpdeskError


def check_freescout(api: FreeScoutApi, directory: Directory, webhook_secret: str,
                    queues: Sequence[str]) -> CheckResult:
    result = CheckResult(destination=f"freescout {api.where}")
    directory.forget()
    try:
        mailboxes = directory.mailboxes()
    except HelpdeskError as exc:
        result.problems.append(exc.reason)
        return result
    result.ok.append(f"FreeScout at {api.where} accepts FREESCOUT_API_KEY ({len(mailboxes)} mailbox(es))")
    try:
        user = directory.user()
        result.ok.append(f"notes and reopenings are credited to user #{user.get('id')} <{user.get('email', '?')}>")
    except HelpdeskError as exc:
        result.problems.append(exc.reason)
    names = ", ".join(f"{m.get('id')}={m.get('name')}" for m in mailboxes) or "none"
    for queue in dict.fromkeys(queues):
        found = directory.mailbox(queue)
        if found is None:
            result.problems.append(f"queue {queue}: no FreeScout mailbox has that id, name or address "
                                   f"(mailboxes: {names}); fix HELPDESK_QUEUES")
        else:
            result.ok.append(f"queue {queue}: {describe(found)}")
    if not webhook_secret:
        result.problems.append("HELPDESK_WEBHOOK_SECRET is empty: set it to the Secret Key shown in FreeScout under "
                               "Manage » Settings » API & Webhooks, or agents' answers are refused")
    return result
