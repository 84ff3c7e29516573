"""The per-inbox metric text written by hand is exactly what prometheus_client writes for the same figures."""
from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from connector.admin.metrics_text import inbox_text
from connector.store.inboxes import INBOX_STATES

INBOXES = [
    {"address": "help@example.com", "state": "active", "imported_total": 7, "last_success_age_seconds": 120,
     "push": {"enabled": True, "notifications": 40, "recovered_by_poll": 2}},
    {"address": "never@example.com", "state": "needs_reauth", "imported_total": 0, "last_success_age_seconds": None,
     "push": {"enabled": False, "notifications": 0, "recovered_by_poll": 0}},
    # Not an address Gmail would accept, but label values must be escaped whatever is stored.
    {"address": 'odd"\\name\n@example.com', "state": "paused", "imported_total": 12_345_678,
     "last_success_age_seconds": 0, "push": None},
]
UNITS = {"help@example.com": (12, 340), "gone@example.com": (0, 5)}


def reference(inboxes: list[dict], push: bool, units) -> bytes:
    """The families as prometheus_client builds them (the code this fast path replaced)."""
    imported = CounterMetricFamily("gmail_connector_imported_messages", "Messages imported per inbox.",
                                   labels=["inbox"])
    lag = GaugeMetricFamily("gmail_connector_sync_lag_seconds", "Seconds since the last successful sync.",
                            labels=["inbox"])
    state = GaugeMetricFamily("gmail_connector_inbox_state", "1 for the inbox's current state, 0 otherwise.",
                              labels=["inbox", "state"])
    for row in inboxes:
        imported.add_metric([row["address"]], row["imported_total"])
        if row["last_success_age_seconds"] is not None:
            lag.add_metric([row["address"]], row["last_success_age_seconds"])
        for name in INBOX_STATES:
            state.add_metric([row["address"], name], 1 if row["state"] == name else 0)
    families = [imported, lag, state]
    if push:
        watching = GaugeMetricFamily("gmail_connector_push_enabled", "1 when the inbox has a working Gmail watch.",
                                     labels=["inbox"])
        notes = CounterMetricFamily("gmail_connector_push_notifications", "Gmail notifications pulled per inbox.",
                                    labels=["inbox"])
        recovered = CounterMetricFamily("gmail_connector_push_recovered_by_poll", "Messages the safety-net poll "
                                        "found that no notification announced, per inbox.", labels=["inbox"])
        for row in inboxes:
            watch = row.get("push") or {}
            watching.add_metric([row["address"]], 1 if watch.get("enabled") else 0)
            notes.add_metric([row["address"]], watch.get("notifications", 0))
            recovered.add_metric([row["address"]], watch.get("recovered_by_poll", 0))
        families += [watching, notes, recovered]
    if units is not None:
        per_inbox = GaugeMetricFamily("gmail_connector_inbox_quota_units_last_minute",
                                      "Gmail quota units spent per inbox in the last 60 seconds.", labels=["inbox"])
        for address, (minute, _day) in sorted(units.items()):
            per_inbox.add_metric([address], minute)
        families.append(per_inbox)

    class Families:
        def collect(self):
            return iter(families)
    return generate_latest(Families())


def test_the_text_is_byte_equal_to_prometheus_clients():
    for push in (False, True):
        for units in (None, UNITS):
            assert inbox_text(INBOXES, push, units).encode() == reference(INBOXES, push, units), (push, units)


def test_no_inboxes_still_declares_the_families():
    assert inbox_text([], False, None).encode() == reference([], False, None)
