"""Backfill benchmark: quota units per imported message and throughput against the quota ceiling.

    python bench/backfill.py [--tier 2026|legacy|both] [--messages N]

The real adapter (googleapiclient, google-auth, batches) against a SandboxServer with quota enforced,
with REAL sleeps for Retry-After, driven by `jobs.sync_inbox.sync_inbox` exactly as `sync --once` is.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SUPPORT, StatsSampler, connected_runtime, print_table, sandbox_stats, write_result  # noqa: E402
from bench.mailgen import SupportMailGenerator  # noqa: E402
from connector.gmail.google import GoogleGmail  # noqa: E402
from jobs.sync_inbox import sync_inbox  # noqa: E402
from sandbox.quota import TIERS  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

DEFAULT_MESSAGES = {"2026": 2000, "legacy": 6000}


@dataclass
class ClientMeter:
    """What the adapter did: calls attempted (quota refusals included) and every pause it took."""
    attempts: int = 0
    sleeps: list[tuple[float, float]] = field(default_factory=list)   # (at, seconds)
    t0: float = field(default_factory=time.monotonic)

    def call(self, method: str) -> None:
        self.attempts += 1

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((round(time.monotonic() - self.t0, 2), round(seconds, 2)))
        time.sleep(seconds)


def ceiling_per_minute(tier: str) -> float:
    """Messages per minute if every unit went to messages.get: 6,000/20 = 300; 15,000/5 = 3,000."""
    limit, units = TIERS[tier]
    return limit / units["messages.get"]


def _serve_sandbox(tier: str, count: int, seed: int, state_dir: Path, ready, stop) -> None:
    """In a child process: Gmail is another machine, so it must not share our interpreter's GIL."""
    with SandboxServer(mailboxes=[SUPPORT], state_dir=state_dir, quota_tier=tier) as srv:
        for raw in SupportMailGenerator(SUPPORT, seed).generate(count):
            srv.core.deliver(SUPPORT, raw)
        ready.put(srv.url)
        stop.wait()


@contextmanager
def sandbox_process(tier: str, count: int, seed: int, state_dir: Path):
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_serve_sandbox, args=(tier, count, seed, state_dir, ready, stop), daemon=True)
    child.start()
    try:
        yield SimpleNamespace(url=ready.get(timeout=600), state_dir=state_dir)
    finally:
        stop.set()
        child.join(timeout=10)


def run_tier(tier: str, count: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, sandbox_process(tier, count, seed, Path(tmp) / "sandbox") as srv:
        print(f"[{tier}] {count} messages delivered into a sandbox in its own process", flush=True)
        runtime = connected_runtime(srv, Path(tmp) / "data", backfill_max=count + 100)
        meter = ClientMeter()
        runtime.gateway_factory = _factory(meter)
        sampler = StatsSampler(srv.url).start()
        passes, started = [], time.monotonic()
        while True:
            report = sync_inbox(runtime, SUPPORT, force=True)
            passes.append({"at": round(time.monotonic() - started, 1), "imported": report.imported,
                           "error": report.error_kind})
            print(f"[{tier}] pass {len(passes)}: {report.imported} imported, {report.error_kind or 'ok'}", flush=True)
            if report.ok or len(passes) > 50:
                break
        elapsed = time.monotonic() - started
        sampler.stop()
        stats = sandbox_stats(srv.url)["mailboxes"][SUPPORT]
    return _summary(tier, count, elapsed, passes, stats, meter, sampler)


def _factory(meter: ClientMeter):
    def make(credentials, settings, **rules):
        return GoogleGmail(credentials, settings.gmail_api_endpoint, sleep=meter.sleep, on_call=meter.call, **rules)
    return make


def _summary(tier, count, elapsed, passes, stats, meter, sampler) -> dict:
    imported = sum(p["imported"] for p in passes)
    accepted = sum(stats["calls"].values())
    per_minute = imported / (elapsed / 60)
    return {
        "tier": tier, "messages": count, "imported": imported, "seconds": round(elapsed, 1),
        "passes": len(passes), "failed_passes": sum(1 for p in passes if p["error"]),
        "units_total": stats["units_total"], "units_per_message": round(stats["units_total"] / max(imported, 1), 3),
        "calls": stats["calls"], "rejected_calls_quota": meter.attempts - accepted,
        "messages_per_minute": round(per_minute, 1), "ceiling_per_minute": ceiling_per_minute(tier),
        "fraction_of_ceiling": round(per_minute / ceiling_per_minute(tier), 3),
        # A sliding 60 s window lets a fresh mailbox spend one full minute's units at once, so over
        # T seconds at most (T/60 + 1) minutes' worth can be spent: the strict yardstick.
        "fraction_of_window_allowance": round(stats["units_total"] / (TIERS[tier][0] * (elapsed / 60 + 1)), 3),
        "units_per_minute_timeline": sampler.per_minute(), "quota_per_minute": TIERS[tier][0],
        "sleeps": meter.sleeps, "seconds_asleep": round(sum(s for _, s in meter.sleeps), 1), "pass_log": passes,
    }


def _show(result: dict) -> None:
    print_table(f"Backfill, {result['tier']} tier", [
        ("messages imported", result["imported"]), ("wall time (s)", result["seconds"]),
        ("sync passes (failed)", f"{result['passes']} ({result['failed_passes']})"),
        ("quota units total", result["units_total"]), ("units per imported message", result["units_per_message"]),
        ("calls refused for quota (429 or 403)", result["rejected_calls_quota"]),
        ("seconds asleep in backoff", result["seconds_asleep"]),
        ("throughput (messages/min)", result["messages_per_minute"]),
        ("ceiling (messages/min)", result["ceiling_per_minute"]),
        ("fraction of ceiling", result["fraction_of_ceiling"]),
        ("units / (quota x (minutes + 1))", result["fraction_of_window_allowance"]),
        ("units per minute", " ".join(str(u) for u in result["units_per_minute_timeline"])),
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=("2026", "legacy", "both"), default="both")
    parser.add_argument("--messages", type=int, help="default: 2,000 (2026), 6,000 (legacy)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    tiers = ("2026", "legacy") if args.tier == "both" else (args.tier,)
    results = []
    for tier in tiers:
        result = run_tier(tier, args.messages or DEFAULT_MESSAGES[tier], args.seed)
        _show(result)
        results.append(result)
    write_result("backfill", {"results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
