"""`gmail-connector helpdesk check|status|failed|retry`: the helpdesk destination, from the command line."""
from __future__ import annotations

import json

from connector.cli import CommandError, row_id
from connector.cli.store_access import in_store


def register(sub) -> None:
    parser = sub.add_parser("helpdesk", help="check the helpdesk destination and its delivery queue")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="is the helpdesk reachable, are the credentials and rights right?")
    check.set_defaults(func=_check)
    status = actions.add_parser("status", help="events queued, delivered, failed, and the oldest waiting")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_status)
    failed = actions.add_parser("failed", help="events the helpdesk refused, with its reasons")
    failed.add_argument("--json", action="store_true", help="print JSON")
    failed.set_defaults(func=_failed)
    retry = actions.add_parser("retry", help="send a refused event again (after fixing the cause)")
    retry.add_argument("event_id", type=row_id, metavar="ID")
    retry.set_defaults(func=_retry)


def _check(args, settings) -> int:
    from connector.bootstrap import bootstrap
    from connector.helpdesk.config import missing_settings

    if settings.helpdesk == "builtin":
        print("HELPDESK=builtin: tickets stay in the connector's own store (dashboard and API); nothing to check")
        return 0
    problems = missing_settings(settings)
    if problems:
        raise CommandError("; ".join(problems), status=2)
    runtime = bootstrap(settings)
    try:
        queues = sorted({settings.helpdesk_default_queue, *(queue for _, queue in settings.helpdesk_queues)})
        result = runtime.helpdesk.check(queues)
        calls_back = hasattr(runtime.helpdesk, "tickets_in_event")
        signs = getattr(runtime.helpdesk, "signs_webhooks", False)
    finally:
        runtime.close()
        runtime.engine.dispose()
    for line in result.ok:
        print(f"ok       {line}")
    if calls_back:
        print(f"webhook  agents' answers: the helpdesk must call {_events_url(settings, signs)} "
              "(docs/helpdesks.md)")
    for line in result.problems:
        print(f"MISSING  {line}")
    return 1 if result.problems else 0


def _events_url(settings, signs: bool) -> str:
    from connector.admin.attachment_links import public_base

    url = public_base(settings) + "/helpdesk/events"
    # The secret itself is never printed: the operator copies it from where it is kept.
    return url + (", signed with HELPDESK_WEBHOOK_SECRET" if signs else "/<HELPDESK_WEBHOOK_SECRET>")


def _status(args, settings) -> int:
    from connector.admin.helpdesk_view import helpdesk_status
    from connector.admin.words import age_words
    from connector.store.types import utcnow

    status = in_store(settings, lambda session: helpdesk_status(session, settings, utcnow()))
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    waiting = status["oldest_waiting_age_seconds"]
    print(f"helpdesk {status['destination']}: {status['queued']} queued, {status['delivering']} being delivered, "
          f"{status['failed']} failed, {status['delivered_last_24h']} delivered in 24 h"
          + (f"; oldest waiting {age_words(waiting)}" if waiting is not None else ""))
    for problem in status["configuration_problems"]:
        print(f"  misconfigured: {problem}")
    if status["last_error"]:
        print(f"  last error: {status['last_error']}")
    if status["fix"]:
        print(f"  fix: {status['fix']}")
    return 0


def _failed(args, settings) -> int:
    from connector.admin.helpdesk_view import failed_events

    events = in_store(settings, failed_events)
    if args.json:
        print(json.dumps(events, indent=2))
    elif not events:
        print("no refused events")
    for event in [] if args.json else events:
        print(f"{event['id']:>6}  ticket {event['ticket_id']:<6} {event['kind']:<16} {event['error']}")
    return 0


def _retry(args, settings) -> int:
    from connector.store.helpdesk_outbox import retry_event

    def retry(session):
        event = retry_event(session, args.event_id)
        return (event.kind, event.ticket_id) if event is not None else (None, None)

    kind, ticket = in_store(settings, retry)
    if kind is None:
        raise CommandError(f"no undelivered helpdesk event {args.event_id} (see `gmail-connector helpdesk failed`)")
    print(f"event {args.event_id} ({kind} of ticket {ticket}) queued again; the daemon sends it within seconds")
    return 0
