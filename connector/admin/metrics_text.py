"""The per-inbox metric families as Prometheus text, written directly rather than through prometheus_client.

At 1,000 inboxes they are some 7,000 samples, and the library's generic path (an object, a label-name
check and a sort per sample) cost more than every query of the scrape together, and filled the heap
enough to start collector pauses. tests/admin/test_metrics_text.py holds the output byte-equal to the
library's for the same figures.
"""
from __future__ import annotations

from prometheus_client.utils import floatToGoString

from connector.store.inboxes import INBOX_STATES


def _value(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _head(name: str, kind: str, documentation: str) -> str:
    escaped = documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {escaped}\n# TYPE {name} {kind}\n"


def inbox_text(inboxes: list[dict], push_configured: bool, units: dict[str, tuple[int, int]] | None) -> str:
    """The text of every per-inbox family; `inboxes` rows carry address, state, imported_total,
    last_success_age_seconds and push (as /status shows them); `units` is ApiUsage.inbox_units()."""
    labels = [(row, f'inbox="{_value(row["address"])}"') for row in inboxes]
    out = [_head("gmail_connector_imported_messages_total", "counter", "Messages imported per inbox.")]
    out += [f"gmail_connector_imported_messages_total{{{label}}} {floatToGoString(row['imported_total'])}\n"
            for row, label in labels]
    out.append(_head("gmail_connector_sync_lag_seconds", "gauge", "Seconds since the last successful sync."))
    # An inbox that never synced has no lag to report; alert on its state instead.
    out += [f"gmail_connector_sync_lag_seconds{{{label}}} {floatToGoString(row['last_success_age_seconds'])}\n"
            for row, label in labels if row["last_success_age_seconds"] is not None]
    out.append(_head("gmail_connector_inbox_state", "gauge", "1 for the inbox's current state, 0 otherwise."))
    out += [f'gmail_connector_inbox_state{{{label},state="{state}"}} {"1.0" if row["state"] == state else "0.0"}\n'
            for row, label in labels for state in INBOX_STATES]
    if push_configured:
        out += _push(labels)
    if units is not None:
        out.append(_head("gmail_connector_inbox_quota_units_last_minute", "gauge",
                         "Gmail quota units spent per inbox in the last 60 seconds."))
        out += [f'gmail_connector_inbox_quota_units_last_minute{{inbox="{_value(address)}"}} '
                f"{floatToGoString(minute)}\n" for address, (minute, _day) in sorted(units.items())]
    return "".join(out)


def _push(labels: list[tuple[dict, str]]) -> list[str]:
    out = [_head("gmail_connector_push_enabled", "gauge", "1 when the inbox has a working Gmail watch.")]
    out += [f"gmail_connector_push_enabled{{{label}}} {'1.0' if (row.get('push') or {}).get('enabled') else '0.0'}\n"
            for row, label in labels]
    for name, field, documentation in (
            ("gmail_connector_push_notifications_total", "notifications", "Gmail notifications pulled per inbox."),
            ("gmail_connector_push_recovered_by_poll_total", "recovered_by_poll",
             "Messages the safety-net poll found that no notification announced, per inbox.")):
        out.append(_head(name, "counter", documentation))
        out += [f"{name}{{{label}}} {floatToGoString((row.get('push') or {}).get(field, 0))}\n"
                for row, label in labels]
    return out
