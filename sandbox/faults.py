"""Injected failures and latency for chosen Gmail methods, so clients' retry paths can be exercised."""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from sandbox.errors import ApiError, for_reason, for_status


@dataclass
class Fault:
    method: str = "*"
    status: int | None = None
    times: int | None = None
    rate: float | None = None
    latency_ms: int = 0
    mailbox: str | None = None
    reason: str | None = None       # Google's reason, for its body: failedPrecondition, userRateLimitExceeded, ...

    def applies(self, method: str, mailbox: str | None) -> bool:
        return self.method in ("*", method) and (self.mailbox is None or self.mailbox == mailbox)


class FaultInjector:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random()

    def add(self, spec: dict) -> Fault:
        fault = Fault(method=str(spec.get("method", "*")), status=spec.get("status"), times=spec.get("times"),
                      rate=spec.get("rate"), latency_ms=int(spec.get("latency_ms", 0)),
                      mailbox=(spec.get("mailbox") or None), reason=(spec.get("reason") or None))
        if fault.reason is not None:
            for_reason(fault.reason)          # an unknown reason is refused now, not at the first call
            if fault.status is None:
                fault.status = for_reason(fault.reason).code
        if fault.status is not None and fault.times is None and fault.rate is None:
            fault.times = 1
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def check(self, method: str, mailbox: str | None) -> tuple[float, ApiError | None]:
        """Seconds to stall and the error to answer instead (if any) for this call."""
        delay, error = 0.0, None
        with self._lock:
            for fault in self._faults:
                if not fault.applies(method, mailbox):
                    continue
                delay = max(delay, fault.latency_ms / 1000)
                if error is None and fault.status and self._fires(fault):
                    error = (for_reason(fault.reason, int(fault.status)) if fault.reason
                             else for_status(int(fault.status)))
            self._faults = [f for f in self._faults if f.times is None or f.times > 0 or f.latency_ms]
        return delay, error

    def _fires(self, fault: Fault) -> bool:
        if fault.times is not None:
            if fault.times <= 0:
                return False
            fault.times -= 1
            return True
        return self._rng.random() < float(fault.rate or 0)

    def describe(self) -> list[dict]:
        with self._lock:
            return [vars(f).copy() for f in self._faults]
