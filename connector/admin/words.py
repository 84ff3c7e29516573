"""Words for people: times ("2 minutes ago", "in 30 seconds", "never") and inbox states."""
from __future__ import annotations

from datetime import datetime

_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def duration_words(seconds: float) -> str:
    """The largest whole unit: 59 -> "59 seconds", 125 -> "2 minutes", 90000 -> "1 day"."""
    seconds = int(abs(seconds))
    for size, unit in _UNITS:
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "0 seconds"


def age_words(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    return "just now" if seconds < 5 else f"{duration_words(seconds)} ago"


def when_words(when: datetime | None, now: datetime) -> str:
    """A moment relative to now, in the past or the future."""
    if when is None:
        return "not scheduled"
    delta = (when - now).total_seconds()
    if abs(delta) < 5:
        return "now"
    return f"in {duration_words(delta)}" if delta > 0 else f"{duration_words(delta)} ago"


_STATES = {"needs_reauth": "needs re-authorisation"}


def state_words(state: str) -> str:
    """An inbox state as the dashboard says it elsewhere: "needs re-authorisation", "paused"."""
    return _STATES.get(state, state.replace("_", " "))
