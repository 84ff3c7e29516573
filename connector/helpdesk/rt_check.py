"""`helpdesk check` for Request Tracker: reachable, credentials accepted, and per queue what RT_USER may do.

Rights are read from what REST 2.0 shows RT_USER, never by writing anything: a queue's `create`
hyperlink is CreateTicket; on the newest ticket of the queue, the `correspond` and `comment`
hyperlinks are ReplyToTicket and CommentOnTicket, and `lifecycle` ones ModifyTicket (to reopen).
"""
from __future__ import annotations

from typing import Sequence

from connector.helpdesk.port import CheckResult, HelpdeskError
from connector.helpdesk.rt_content import sql
from connector.helpdesk.rt_queues import MESSAGE_FIELD, TICKET_FIELD, Queues
from connector.helpdesk.rt_requests import RTClient

_TICKET_RIGHTS = (("ReplyToTicket", "correspond"), ("CommentOnTicket", "comment"),
                  ("ModifyTicket", "lifecycle"))


def check_rt(rt: RTClient, queues: Queues, key_field: str, message_key_field: str,
             names: Sequence[str]) -> CheckResult:
    result = CheckResult(destination=f"rt {rt.where}")
    try:
        version = rt.get("/rt").get("Version", "?")
    except HelpdeskError as exc:
        result.problems.append(exc.reason)
        return result
    result.ok.append(f"RT {version} at {rt.where} accepts the credentials of {rt.identity}")
    queues.forget()
    for name in dict.fromkeys(names):
        try:
            problems, ok = _check_queue(rt, queues, key_field, message_key_field, name)
        except HelpdeskError as exc:
            problems, ok = [f"queue {name}: {exc.reason}"], []
        result.problems.extend(problems)
        result.ok.extend(ok)
    return result


def _check_queue(rt: RTClient, queues: Queues, key_field: str, message_key_field: str,
                 name: str) -> tuple[list[str], list[str]]:
    who = rt.identity
    queue = queues.lookup(name)
    if queue is None:
        return [f"queue {name} does not exist in RT, or {who} may not see it (SeeQueue)"], []
    problems = [] if queue.can_create else [f"{who} cannot CreateTicket in queue {name}"]
    for field, lookup_type, kind in ((key_field, TICKET_FIELD, "ticket"),
                                     (message_key_field, MESSAGE_FIELD, "transaction")):
        if queue.field(field, lookup_type) is None:
            problems.append(f"the {kind} custom field {field} does not apply to queue {name}, or {who} "
                            f"may not see it (SeeCustomField)")
    newest = rt.get("/tickets", {"query": f"Queue = {sql(queue.name)}", "orderby": "id", "order": "DESC",
                                 "per_page": 1}).get("items") or []
    if not newest:
        rights = "ReplyToTicket, CommentOnTicket and ModifyTicket not checked (no ticket there yet)"
    else:
        number = int(newest[0]["id"])
        links = {link.get("ref") for link in rt.get(f"/ticket/{number}").get("_hyperlinks") or []}
        problems += [f"{who} cannot {right} in queue {name} (seen on ticket #{number})"
                     for right, ref in _TICKET_RIGHTS if ref not in links]
        rights = f"ReplyToTicket, CommentOnTicket and ModifyTicket (seen on ticket #{number})"
    if problems:
        return problems, []
    return [], [f"queue {name}: CreateTicket, custom fields {key_field} and {message_key_field}, {rights}"]
