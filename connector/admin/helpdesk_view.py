"""The helpdesk destination as /status, the dashboard, /metrics and `helpdesk status` show it (read-only)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from connector.helpdesk.config import missing_settings
from connector.settings import Settings
from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.helpdesk_outbox import outbox_summary, parked_events

CREDENTIALS = {"rt": "RT_USER and RT_PASSWORD (or RT_TOKEN)", "webhook": "WEBHOOK_SECRET",
               "django_helpdesk": "DJANGO_HELPDESK_USER and DJANGO_HELPDESK_PASSWORD (or DJANGO_HELPDESK_TOKEN)",
               "zendesk": "ZENDESK_EMAIL and ZENDESK_API_TOKEN", "zammad": "ZAMMAD_TOKEN",
               "freshdesk": "FRESHDESK_API_KEY", "freescout": "FREESCOUT_API_KEY"}
FIXES = {
    "401": "check {credentials}; then `gmail-connector helpdesk check`",
    "refused the credentials": "check {credentials}; then `gmail-connector helpdesk check`",
    "403": "grant the connector's helpdesk user the rights `gmail-connector helpdesk check` lists",
    "unavailable": "the helpdesk did not answer; events wait and are retried with backoff",
}


def helpdesk_status(session: Session, settings: Settings, now: datetime) -> dict:
    summary = outbox_summary(session, now)
    oldest_age = int((now - summary.oldest_waiting_at).total_seconds()) if summary.oldest_waiting_at else None
    return {
        "destination": settings.helpdesk,
        "configuration_problems": missing_settings(settings),
        "queued": summary.queued, "delivering": summary.delivering, "failed": summary.failed,
        "delivered_last_24h": summary.delivered_24h,
        "oldest_waiting_age_seconds": oldest_age,
        "last_error": summary.last_error,
        "fix": fix_for(summary.last_error, settings.helpdesk),
        "answers_to_read": _marked(session, settings.helpdesk),
    }


def fix_for(error: str | None, destination: str = "") -> str | None:
    if not error:
        return None
    for marker, fix in FIXES.items():
        if marker in error:
            return fix.format(credentials=CREDENTIALS.get(destination, "the helpdesk's credentials"))
    return None


def _marked(session: Session, destination: str) -> int:
    """Tickets the helpdesk's webhook named whose answers the replies job has not read yet."""
    return session.scalar(select(func.count()).select_from(HelpdeskTicket).where(
        HelpdeskTicket.destination == destination, HelpdeskTicket.replies_wanted_at.is_not(None))) or 0


def failed_events(session: Session) -> list[dict]:
    return [{"id": e.id, "ticket_id": e.ticket_id, "kind": e.kind, "attempts": e.attempts,
             "error": e.last_error, "created_at": e.created_at.isoformat()} for e in parked_events(session)]
