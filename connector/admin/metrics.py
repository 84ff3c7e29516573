"""Prometheus metrics read from the store at scrape time, by a collector private to one app."""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlmodel import Session, select

from connector.admin.deps import read_session
from connector.admin.latency import ArrivalLatency
from connector.admin.metrics_text import inbox_text
from connector.admin.helpdesk_view import helpdesk_status
from connector.admin.push_view import push_summary
from connector.admin.sections import PENDING_OUTGOING, sync_errors_by_kind
from connector.admin.status_pages import seconds_between
from connector.gmail.usage import ApiUsage
from connector.bootstrap import Runtime
from connector.store.dns_health import dns_health_by_domain, domain_of
from connector.store.forwarding_models import ExternalAddress
from connector.store.push import NOT_WATCHED, push_by_inbox
from connector.store.status_queries import inbox_metric_rows, section_counts
from connector.store.types import utcnow


class StoreCollector:
    """Turns the status summary and every inbox's figures into Prometheus text; the store stays the truth."""

    def __init__(self, runtime: Runtime, daemon=None, usage: ApiUsage | None = None):
        self._runtime, self._daemon, self._usage = runtime, daemon, usage
        self._latency = ArrivalLatency(since=daemon.started_at if daemon is not None else utcnow())

    def scrape(self) -> bytes:
        """One exposition: the summary's families through prometheus_client, the per-inbox ones as text."""
        with read_session(self._runtime) as session:
            now = utcnow()
            status = metric_figures(session, now, self._daemon, self._runtime.settings)
            push_on = bool(status["push"]["configured"])
            inboxes = every_inbox(session, now, with_push=push_on)
            self._latency.refresh(session)
        units = self._usage.inbox_units() if self._usage is not None else None
        return generate_latest(_Families(self.families(status))) + inbox_text(inboxes, push_on, units).encode()

    def families(self, status: dict) -> list[Metric]:
        found = [*push_listener_metrics(status), *store_metrics(status), dns_metric(status["dns"])]
        if status.get("helpdesk"):
            found += helpdesk_metrics(status["helpdesk"])
        found.append(self._latency.metric())
        if self._usage is not None:
            found += usage_metrics(self._usage)
        return found


class _Families:
    """What generate_latest reads: one scrape's families (a registry would run collectors of its own)."""

    def __init__(self, families: list[Metric]):
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def metric_figures(session: Session, now: datetime, daemon, settings) -> dict:
    """What the store's families report, and nothing of /status's lists: a scrape reads counts, not rows."""
    counts = section_counts(session, now)       # the window's count is unused here; the rest is one statement
    by_state = counts["outgoing"]
    # The DNS health of the domains that still have an external address, as the status shows it per address.
    domains = {domain_of(address) for address in session.exec(select(ExternalAddress.external_address))}
    dns = {domain: row for domain, row in dns_health_by_domain(session).items() if domain in domains} if domains else {}
    return {"tickets_by_status": dict(sorted(counts["tickets"].items())),
            "suspended_by_kind": dict(sorted(counts["suspended"].items())),
            "sync_errors_by_kind": sync_errors_by_kind(session),
            "outgoing": {"by_state": dict(sorted(by_state.items())),
                         "pending": sum(by_state.get(state, 0) for state in PENDING_OUTGOING)},
            "dns": dns, "helpdesk": helpdesk_status(session, settings, now) if settings is not None else None,
            "push": push_summary(settings, daemon)}


def every_inbox(session: Session, now: datetime, with_push: bool) -> list[dict]:
    """Each inbox's figures that /metrics reports, from one plain query (not the paged /status rows)."""
    push = push_by_inbox(session, now) if with_push else {}
    return [{"address": address, "state": state, "imported_total": imported,
             "last_success_age_seconds": seconds_between(last_success, now), "push": push.get(inbox_id, NOT_WATCHED)}
            for inbox_id, address, state, imported, last_success in inbox_metric_rows(session)]


def store_metrics(status: dict) -> Iterator[Metric]:
    yield _gauge_by("gmail_connector_tickets", "Tickets by status.", "status", status["tickets_by_status"])
    yield _gauge_by("gmail_connector_suspended_mails", "Held-back mail awaiting a decision, by kind.", "kind",
                    status["suspended_by_kind"])
    yield _gauge_by("gmail_connector_sync_errors", "Inboxes whose latest sync failed, by error kind.", "kind",
                    status["sync_errors_by_kind"])
    yield _gauge_by("gmail_connector_outgoing_mails", "Outgoing mail by state.", "state",
                    status["outgoing"]["by_state"])
    yield GaugeMetricFamily("gmail_connector_outgoing_queue_depth", "Replies still to send.",
                            value=status["outgoing"]["pending"])


def helpdesk_metrics(helpdesk: dict) -> Iterator[Metric]:
    destination = helpdesk["destination"]
    events = GaugeMetricFamily("gmail_connector_helpdesk_events", "Helpdesk events not yet delivered, by state.",
                               labels=["destination", "state"])
    for state in ("queued", "delivering", "failed"):
        events.add_metric([destination, state], helpdesk[state])
    yield events
    oldest = GaugeMetricFamily("gmail_connector_helpdesk_oldest_wait_seconds",
                               "Age of the oldest event not yet delivered (0: none waiting).", labels=["destination"])
    oldest.add_metric([destination], helpdesk["oldest_waiting_age_seconds"] or 0)
    yield oldest
    delivered = GaugeMetricFamily("gmail_connector_helpdesk_delivered_last_24h", "Events delivered in the last 24 h.",
                                  labels=["destination"])
    delivered.add_metric([destination], helpdesk["delivered_last_24h"])
    yield delivered
    unread = GaugeMetricFamily("gmail_connector_helpdesk_answers_to_read",
                               "Tickets the helpdesk's webhook named whose agents' answers are not read yet.",
                               labels=["destination"])
    unread.add_metric([destination], helpdesk.get("answers_to_read", 0))
    yield unread


def dns_metric(checks: dict[str, dict]) -> GaugeMetricFamily:
    family = GaugeMetricFamily("gmail_connector_dns_health", "1 when the external domain's SPF, DKIM or DMARC "
                               "record is ok, 0 otherwise.", labels=["domain", "record"])
    for domain, dns in sorted(checks.items()):
        for record in ("spf", "dkim", "dmarc"):
            # A lookup that failed leaves the record unknown: no sample rather than a false alarm.
            if dns.get(record) is not None:
                family.add_metric([domain, record], 1 if dns[record]["status"] == "ok" else 0)
    return family


def _gauge_by(name: str, documentation: str, label: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, count in counts.items():
        family.add_metric([key], count)
    return family


def usage_metrics(usage: ApiUsage) -> Iterator[Metric]:
    calls = CounterMetricFamily("gmail_connector_api_calls", "Gmail API calls by method.", labels=["method"])
    units = CounterMetricFamily("gmail_connector_api_units", "Gmail quota units spent by method.", labels=["method"])
    for method, used in usage.by_method().items():
        calls.add_metric([method], used.calls)
        units.add_metric([method], used.units)
    return iter((calls, units))


def push_listener_metrics(status: dict) -> Iterator[Metric]:
    """This daemon's Pub/Sub listener; the per-inbox push families are in metrics_text."""
    if not (status.get("push") or {}).get("configured"):
        return
    listener = status["push"].get("listener")
    if listener:
        pulled = CounterMetricFamily("gmail_connector_push_listener_messages", "Pub/Sub messages this daemon "
                                     "pulled, by outcome.", labels=["outcome"])
        for outcome in ("received", "unknown", "malformed", "acked", "given_up"):
            pulled.add_metric([outcome], listener[outcome])
        yield pulled
        yield GaugeMetricFamily("gmail_connector_push_listener_pending", "Notifications pulled, not yet acked "
                                "(their pass has not covered them yet).", value=listener["pending"])


def router(runtime: Runtime, daemon=None, usage: ApiUsage | None = None) -> APIRouter:
    # A collector per app: two apps in one process (tests, or a restart) never share or clash.
    collector = StoreCollector(runtime, daemon, usage)
    routes = APIRouter()

    @routes.get("/metrics", response_class=Response, summary="Prometheus text exposition",
                responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics() -> Response:
        return Response(collector.scrape(), media_type=CONTENT_TYPE_LATEST)

    return routes
