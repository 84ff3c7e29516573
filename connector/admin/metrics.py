"""Prometheus metrics read from the store at scrape time, in a registry private to one app."""
from __future__ import annotations

from typing import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from connector.admin.deps import read_session
from connector.admin.status import build_status
from connector.bootstrap import Runtime
from connector.store.inboxes import INBOX_STATES
from connector.store.types import utcnow


class StoreCollector:
    """Turns one status picture into metric families; the store stays the single source of truth."""

    def __init__(self, runtime: Runtime, daemon=None):
        self._runtime, self._daemon = runtime, daemon

    def collect(self) -> Iterator[Metric]:
        with read_session(self._runtime) as session:
            status = build_status(session, utcnow(), self._daemon)
        yield from inbox_metrics(status["inboxes"])
        tickets = GaugeMetricFamily("gmail_connector_tickets", "Tickets by status.", labels=["status"])
        for status_name, count in status["tickets_by_status"].items():
            tickets.add_metric([status_name], count)
        yield tickets
        suspended = GaugeMetricFamily("gmail_connector_suspended_mails", "Held-back mail awaiting a decision, by kind.",
                                      labels=["kind"])
        for kind, count in status["suspended_by_kind"].items():
            suspended.add_metric([kind], count)
        yield suspended


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


def router(runtime: Runtime, daemon=None) -> APIRouter:
    # A registry per app: two apps in one process (tests, or a restart) never share or clash.
    registry = CollectorRegistry()
    registry.register(StoreCollector(runtime, daemon))
    routes = APIRouter()

    @routes.get("/metrics", response_class=Response, summary="Prometheus text exposition",
                responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return routes
