"""Per-user quota units per Gmail method, metered over a sliding 60-second window per mailbox."""
from __future__ import annotations

import math
import time
from collections import Counter, deque
from datetime import datetime, timedelta, timezone

from connector.gmail.quota_units import GMAIL_UNITS
from sandbox.errors import for_reason, rate_limited

LEGACY_UNITS = GMAIL_UNITS
TIERS = {
    "legacy": (15_000, LEGACY_UNITS),
    # Google's May 2026 limits for new Cloud projects: 6,000 units per user per minute, and reading
    # bodies costs more (developers.google.com/workspace/gmail/api/reference/quota, "As of May 1, 2026";
    # the per-method figures messages.get 20 and threads.get 40 as tabulated in
    # developer.nylas.com/docs/cookbook/email/gmail-api-quotas/).
    "2026": (6_000, {**LEGACY_UNITS, "messages.get": 20, "threads.get": 40}),
    "off": (15_000, LEGACY_UNITS),
}
WINDOW_SECONDS = 60.0


class QuotaMeter:
    def __init__(self, tier: str = "2026", clock=time.time) -> None:
        if tier not in TIERS:
            raise ValueError(f"quota tier must be one of {', '.join(TIERS)}, not {tier!r}")
        self.tier = tier
        self.limit, self.units = TIERS[tier]
        self._clock = clock
        self._window: dict[str, deque[tuple[float, int]]] = {}
        self.totals: Counter[str] = Counter()
        self.calls: dict[str, Counter[str]] = {}
        self.refusals = 0

    def cost(self, method: str) -> int:
        return self.units.get(method, 1)

    def charge(self, mailbox: str, method: str, units: int | None = None) -> None:
        """Count one call; raise Google's 429 instead when the window has no room (unless tier is off)."""
        units = self.cost(method) if units is None else units
        now = self._clock()
        window = self._window.setdefault(mailbox, deque())
        while window and window[0][0] <= now - WINDOW_SECONDS:
            window.popleft()
        used = sum(u for _, u in window)
        if self.tier != "off" and used + units > self.limit:
            self.refusals += 1
            if self.refusals % 2 == 0:
                # Gmail answers the per-user limit both ways: a 429 with a retry time, or a 403
                # userRateLimitExceeded with none (the quota page's error code; "Google can return
                # either 429 or 403 for quota errors", Nylas' Gmail guide). Every other refusal is the 403.
                raise for_reason("userRateLimitExceeded")
            wait = self._wait(window, used + units - self.limit, now)
            at = datetime.now(timezone.utc) + timedelta(seconds=wait)
            raise rate_limited(wait, at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
        window.append((now, units))
        self.totals[mailbox] += units
        self.calls.setdefault(mailbox, Counter())[method] += 1

    def _wait(self, window, excess: int, now: float) -> int:
        freed = 0
        for stamp, units in window:
            freed += units
            if freed >= excess:
                return max(1, math.ceil(stamp + WINDOW_SECONDS - now))
        return int(WINDOW_SECONDS)

    def last_minute(self, mailbox: str) -> int:
        now = self._clock()
        return sum(u for t, u in self._window.get(mailbox, ()) if t > now - WINDOW_SECONDS)
