"""Deliver the helpdesk outbox: each ticket's events in order, exactly once, retried with backoff.

One event at a time: claim it (a short transaction), read what it announces (no write lock),
send it with no transaction open, record the answer (a short transaction). A crash between the
helpdesk's answer and our record leaves the event claimed; claimed again later, `attempts > 0`
makes us ask the helpdesk for our key first, so it is never created twice. A helpdesk that is
unreachable ends the round (every other send would fail too) and keeps the event for later; one
that refuses an event parks it with the reason and holds back only that ticket.
"""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlmodel import Session

from connector.helpdesk.port import (Delivered, Helpdesk, HelpdeskMessage, HelpdeskRefused, HelpdeskUnavailable,
                                     NewHelpdeskTicket)
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskEvent
from connector.store.helpdesk_outbox import (claim, due_events, helpdesk_ticket, installation_key, link_ticket,
                                             mark_delivered, mark_waiting, next_due_of_ticket, park,
                                             release_dead_claims, relink_ticket)
from connector.store.types import utcnow
from jobs.helpdesk_messages import EventGone, event_key, first_comment_id, message_of, new_ticket_of
from jobs.leases import PROCESS_TOKEN, gone_from_this_host

log = logging.getLogger(__name__)
# This process, as a claim names it (the format of jobs/leases.py's daemon ids).
CLAIMER = f"{socket.gethostname()}:{os.getpid()}:{PROCESS_TOKEN}.0"
BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS = 10, 15 * 60
# Errors that are ours (a file missing from disk, a bug) are retried this many times, then parked.
INTERNAL_ATTEMPTS = 5


@dataclass
class DeliveryReport:
    delivered: int = 0
    waiting: int = 0
    parked: int = 0
    unavailable: str | None = None                 # why the round stopped early
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """One claimed event, read out of the store: what to send, and the helpdesk ticket if we know it."""
    event_id: int
    kind: str
    ticket_id: int
    key: str
    ticket: NewHelpdeskTicket | None
    message: HelpdeskMessage | None
    link: Delivered | None


def deliver_events(runtime, *, limit: int = 200, now: Callable[[], datetime] = utcnow) -> DeliveryReport:
    """One round: up to `limit` events, each ticket's in order."""
    helpdesk: Helpdesk | None = runtime.helpdesk
    report = DeliveryReport()
    if helpdesk is None:
        return report
    freed = 0
    # SQLite lives on one machine, so a claimer on this host whose process is gone is dead now; on a
    # shared PostgreSQL two machines may share a host name, and claims expire after CLAIM_SECONDS.
    if runtime.engine.dialect.name == "sqlite":
        with session_scope(runtime.engine) as session:
            freed = release_dead_claims(session, now(), lambda claimer: gone_from_this_host(claimer, CLAIMER))
    if freed:
        log.info("%d helpdesk events claimed by a process that died are due again (looked up before sending)", freed)
    with Session(runtime.engine.execution_options(sqlite_deferred=True)) as session:
        heads = [(e.id, e.ticket_id) for e in due_events(session, now(), limit)]
    if not heads:
        return report
    with session_scope(runtime.engine) as session:
        installation = installation_key(session)
    for event_id, ticket_id in heads:
        current: int | None = event_id
        while current is not None and report.delivered + report.parked < limit:
            if not _deliver_one(runtime, helpdesk, installation, current, now, report):
                break
            if report.unavailable:
                return report
            with Session(runtime.engine.execution_options(sqlite_deferred=True)) as session:
                following = next_due_of_ticket(session, ticket_id, now())
                current = following.id if following is not None else None
        if report.unavailable:
            return report
    return report


def _deliver_one(runtime, helpdesk: Helpdesk, installation: str, event_id: int, now, report: DeliveryReport) -> bool:
    """True when the event was delivered (the ticket's next one may follow)."""
    engine, settings, destination = runtime.engine, runtime.settings, helpdesk.name
    with session_scope(engine) as session:
        before = claim(session, event_id, now(), CLAIMER)
        if before is None:
            return False                           # another daemon took it, or it is no longer due
    try:
        with Session(engine.execution_options(sqlite_deferred=True)) as session:
            job = _job(session, settings, installation, destination, event_id)
        result, new_link = _send(helpdesk, job, lookup=before > 0)
    except EventGone as gone:
        with session_scope(engine) as session:
            mark_delivered(session, event_id, destination, None, now())
        log.info("helpdesk event %s skipped: %s", event_id, gone)
        return True
    except HelpdeskUnavailable as down:
        _wait(engine, event_id, before + 1, f"{destination} unavailable: {down.reason}", now(), down.retry_after)
        report.waiting += 1
        report.unavailable = down.reason
        log.warning("helpdesk %s unavailable, event %s waits: %s", destination, event_id, down.reason)
        return False
    except HelpdeskRefused as refused:
        with session_scope(engine) as session:
            park(session, event_id, f"{destination} refused: {refused.reason}")
        report.parked += 1
        log.warning("helpdesk %s refused event %s (parked; `helpdesk retry %s` sends it again): %s",
                    destination, event_id, event_id, refused.reason)
        return False
    except Exception as exc:  # noqa: BLE001 - one broken event never stops the others
        reason = f"internal: {type(exc).__name__}: {str(exc)[:300]}"
        log.exception("helpdesk event %s could not be delivered", event_id)
        if before + 1 >= INTERNAL_ATTEMPTS:
            with session_scope(engine) as session:
                park(session, event_id, reason)
            report.parked += 1
        else:
            _wait(engine, event_id, before + 1, reason, now(), None)
            report.waiting += 1
        report.errors.append(reason)
        return False
    with session_scope(engine) as session:
        if new_link is not None:
            link_ticket(session, destination, job.ticket_id, new_link.remote_ticket_id, new_link.url, now())
        elif job.link is not None and job.message is not None and result.remote_ticket_id != job.link.remote_ticket_id:
            # The helpdesk would take no more on its ticket (Zendesk: closed) and the message opened a
            # follow-up ticket: what comes next, and the agents' answers, belong to that one.
            relink_ticket(session, destination, job.ticket_id, result.remote_ticket_id, result.url, now())
        mark_delivered(session, event_id, destination, result.remote_item_id or result.remote_ticket_id, now())
    report.delivered += 1
    return True


def _wait(engine, event_id: int, attempts: int, reason: str, at: datetime, retry_after: float | None) -> None:
    delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempts - 1))
    delay = max(delay, min(retry_after or 0, 6 * 3600))
    with session_scope(engine) as session:
        mark_waiting(session, event_id, reason, at + timedelta(seconds=delay))


def _job(session: Session, settings: Settings, installation: str, destination: str, event_id: int) -> Job:
    event = session.get(HelpdeskEvent, event_id)
    if event is None:
        raise EventGone(f"event {event_id} no longer exists")
    linked = helpdesk_ticket(session, destination, event.ticket_id)
    link = Delivered(linked.remote_id, url=linked.url) if linked is not None else None
    message = ticket = None
    if event.kind != "ticket.reopened":
        message = message_of(session, settings, installation, event.comment_id)
    if link is None:
        # A ticket from before the outbox was on opens with its first comment (or this one).
        first = message or message_of(session, settings, installation, first_comment_id(session, event.ticket_id))
        ticket = new_ticket_of(session, settings, installation, event.ticket_id, first)
    return Job(event_id=event.id, kind=event.kind, ticket_id=event.ticket_id, key=event_key(installation, event.id),
               ticket=ticket, message=message, link=link)


def _send(helpdesk: Helpdesk, job: Job, lookup: bool) -> tuple[Delivered, Delivered | None]:
    """What the helpdesk made of the event, and the helpdesk ticket to remember when it is new to us."""
    link, new_link = job.link, None
    if link is None:
        assert job.ticket is not None
        # A first attempt at a new ticket cannot have reached the helpdesk: no lookup needed.
        found = helpdesk.find_ticket(job.ticket.key) if lookup or job.kind != "ticket.created" else None
        if found is None:
            made = helpdesk.open_ticket(job.ticket)    # carries its first message: this event's, or the first
            return made, made
        link = new_link = found
        if job.ticket.first.key == (job.message.key if job.message else None):
            return found, found                    # the ticket exists, opened with this very message
    if job.kind == "ticket.reopened":
        helpdesk.reopen(link.remote_ticket_id, job.key)
        return link, new_link
    if job.kind == "ticket.created":
        return link, new_link                      # already there: nothing more to send
    assert job.message is not None
    if lookup:
        found_message = helpdesk.find_message(link.remote_ticket_id, job.message.key)
        if found_message is not None:
            return found_message, new_link
    return helpdesk.add_message(link.remote_ticket_id, job.message), new_link
