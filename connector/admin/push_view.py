"""Gmail push in the status picture: whether it is configured, and what this daemon's listener counted."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from connector.settings import Settings
from connector.store.types import iso_utc


def push_summary(settings: Settings | None, daemon: Any) -> dict[str, Any]:
    """Whether push is configured, and what this process's listener counted (null without a daemon)."""
    configured = bool(settings and settings.push_enabled)
    listener = getattr(daemon, "push", None) if daemon is not None else None
    counters = None
    if listener is not None:
        counters = asdict(listener.counters) | {"pending": listener.pending}
        counters["last_pull_at"] = iso_utc(counters["last_pull_at"])
    return {"configured": configured, "topic": settings.pubsub_topic if configured else None,
            "subscription": settings.pubsub_subscription if configured else None, "listener": counters}
