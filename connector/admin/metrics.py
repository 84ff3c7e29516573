"""Prometheus metrics read from the store at scrape time, in a registry private to one app."""
from __future__ import annotations

from typing import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from connector.admin.deps import read_session
from connector.admin.latency import ArrivalLatency
from connector.admin.status import build_status
from connector.gmail.usage import ApiUsage
from connector.bootstrap import Runtime
from connector.store.inboxes import INBOX_STATES
from connector.store.types import utcnow


class StoreCollector:
    """Turns one status picture into metric families; the store stays the single source of truth."""

    def __init__(self, runtime: Runtime, daemon=None, usage: ApiUsage | None = None):
        self._runtime, self._daemon, self._usage = runtime, daemon, usage
        self._latency = ArrivalLatency(since=daemon.started_at if daemon is not None else utcnow())

    def collect(self) -> Iterator[Metric]:
        with read_session(self._runtime) as session:
            status = build_status(session, utcnow(), self._daemon, self._usage, self._runtime.settings)
            self._latency.refresh(session)
        yield from inbox_metrics(status["inboxes"])
        yield from push_metrics(status)
        yield from store_metrics(status)
        yield dns_metric(status["external_addresses"])
        if status.get("helpdesk"):
            yield from helpdesk_metrics(status["helpdesk"])
        yield self._latency.metric()
        if self._usage is not None:
            yield from usage_metrics(self._usage)


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


def dns_metric(external_addresses: list[dict]) -> GaugeMetricFamily:
    family = GaugeMetricFamily("gmail_connector_dns_health", "1 when the external domain's SPF, DKIM or DMARC "
                               "record is ok, 0 otherwise.", labels=["domain", "record"])
    checks = {row["dns"]["domain"]: row["dns"] for row in external_addresses if row.get("dns")}
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
    per_inbox = GaugeMetricFamily("gmail_connector_inbox_quota_units_last_minute",
                                  "Gmail quota units spent per inbox in the last 60 seconds.", labels=["inbox"])
    for address, (minute, _day) in sorted(usage.inbox_units().items()):
        per_inbox.add_metric([address], minute)
    return iter((calls, units, per_inbox))


def inbox_metrics(inboxes: list[dict]) -> Iterator[Metric]:
    imported = CounterMetricFamily("gmail_connector_imported_messages", "Messages imported per inbox.",
                                   labels=["inbox"])
    lag = GaugeMetricFamily("gmail_connector_sync_lag_seconds", "Seconds since the last successful sync.",
                            labels=["inbox"])
    state = GaugeMetricFamily("gmail_connector_inbox_state", "1 for the inbox's current state, 0 otherwise.",
                              labels=["inbox", "state"])
    for row in inboxes:
        imported.add_metric([row["address"]], row["imported_total"])
        # An inbox that never synced has no lag to report; alert on its state instead.
        if row["last_success_age_seconds"] is not None:
            lag.add_metric([row["address"]], row["last_success_age_seconds"])
        for name in INBOX_STATES:
            state.add_metric([row["address"], name], 1 if row["state"] == name else 0)
    return iter((imported, lag, state))


def push_metrics(status: dict) -> Iterator[Metric]:
    if not (status.get("push") or {}).get("configured"):
        return
    watching = GaugeMetricFamily("gmail_connector_push_enabled", "1 when the inbox has a working Gmail watch.",
                                 labels=["inbox"])
    notes = CounterMetricFamily("gmail_connector_push_notifications", "Gmail notifications pulled per inbox.",
                                labels=["inbox"])
    recovered = CounterMetricFamily("gmail_connector_push_recovered_by_poll", "Messages the safety-net poll found "
                                    "that no notification announced, per inbox.", labels=["inbox"])
    for row in status["inboxes"]:
        push = row.get("push") or {}
        watching.add_metric([row["address"]], 1 if push.get("enabled") else 0)
        notes.add_metric([row["address"]], push.get("notifications", 0))
        recovered.add_metric([row["address"]], push.get("recovered_by_poll", 0))
    yield from (watching, notes, recovered)
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
    # A registry per app: two apps in one process (tests, or a restart) never share or clash.
    registry = CollectorRegistry()
    registry.register(StoreCollector(runtime, daemon, usage))
    routes = APIRouter()

    @routes.get("/metrics", response_class=Response, summary="Prometheus text exposition",
                responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return routes
