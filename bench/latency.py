"""Latency benchmark: from a message arriving in Gmail to its ticket in the store, through the daemon.

    python bench/latency.py [--poll 30] [--messages 40] [--duration 600]
    python bench/latency.py --push [--pubsub HOST:PORT] [--messages 20] [--inboxes 100] [--rounds 3]

Starts the real daemon (`jobs.daemon.Daemon`, APScheduler, the real adapter) on one sandbox inbox,
delivers customer requests at random moments over `--duration` seconds, and reads each message's
`processed_at` (the commit of its ticket) from the store. Expect p50 near poll/2 plus a pass's
duration, and p95 near the poll interval plus its jitter (10%).

`--push`: the daemon as `gmail-connector run` wires it (`daemon_parts`: scheduler + push listener)
with POLL_INTERVAL_SECONDS and PUSH_FALLBACK_POLL_SECONDS at 3600, so only push brings mail in; the
sandbox publishes to a Pub/Sub emulator this bench starts (scripts/start-pubsub.sh, own port and
directory; `--pubsub` reuses one). Two scenarios: one inbox receiving `--messages` mails 2-4 s apart
(further apart than the sandbox's one notification per second per mailbox), and `--inboxes` inboxes
each receiving one mail in the same second, `--rounds` times. Latency: the ticket's commit
(`processed_at`) minus the moment `deliver` returned; also the moment a 20 ms store poll first saw it.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import select  # noqa: E402

from bench.common import SUPPORT, connected_runtime, print_table, wait_until, write_result  # noqa: E402
from bench.mailgen import SupportMailGenerator  # noqa: E402
from connector.store.db import session_scope  # noqa: E402
from connector.store.inboxes import get_inbox  # noqa: E402
from connector.store.models import RawMail  # noqa: E402
from jobs.daemon import Daemon  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402




def _cursor_set(runtime) -> bool:
    with session_scope(runtime.engine) as session:
        return get_inbox(session, SUPPORT).history_id is not None


def _processed(runtime, ids) -> dict[str, datetime]:
    query = select(RawMail.gmail_id, RawMail.processed_at).where(RawMail.gmail_id.in_(list(ids)),
                                                                 RawMail.state == "processed")
    with session_scope(runtime.engine) as session:
        return {gid: at for gid, at in session.exec(query).all() if at is not None}


def run(poll: int, count: int, duration: float, seed: int) -> dict:
    rng, mail = random.Random(seed), SupportMailGenerator(SUPPORT, seed)
    offsets = sorted(rng.uniform(0, duration) for _ in range(count))
    with tempfile.TemporaryDirectory() as tmp, \
            SandboxServer(mailboxes=[SUPPORT], state_dir=Path(tmp) / "sandbox", quota_tier="2026") as srv:
        runtime = connected_runtime(srv, Path(tmp) / "data", poll_interval_seconds=poll)
        daemon = Daemon(runtime)
        daemon.start()
        try:
            if not wait_until(lambda: _cursor_set(runtime), 60):
                raise SystemExit("the daemon never finished the first (empty) backfill")
            arrived: dict[str, datetime] = {}
            start = time.monotonic()
            for offset in offsets:
                time.sleep(max(0.0, start + offset - time.monotonic()))
                arrived[srv.core.deliver(SUPPORT, mail.request())] = datetime.now(timezone.utc)
            print(f"delivered {count} messages; waiting for the last tickets ...", flush=True)
            wait_until(lambda: len(_processed(runtime, arrived)) == count, poll * 3 + 30, step=0.5)
            done = _processed(runtime, arrived)
        finally:
            daemon.stop()
    latencies = sorted((done[gid] - at).total_seconds() for gid, at in arrived.items() if gid in done)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"poll_seconds": poll, "messages": count, "ticketed": len(latencies), "duration_seconds": duration,
            "p50_seconds": round(cuts[49], 2), "p95_seconds": round(cuts[94], 2),
            "max_seconds": round(max(latencies), 2) if latencies else None,
            "mean_seconds": round(statistics.fmean(latencies), 2) if latencies else None,
            "latencies": [round(x, 2) for x in latencies]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=int, default=30, help="POLL_INTERVAL_SECONDS (default 30)")
    parser.add_argument("--messages", type=int, help="mails delivered (default 40; with --push 20, to one inbox)")
    parser.add_argument("--duration", type=float, help="seconds over which mail arrives (default 10 polls)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--push", action="store_true", help="push on, polls an hour apart (bench/latency_push.py)")
    parser.add_argument("--pubsub", metavar="HOST:PORT", help="with --push: reuse this Pub/Sub emulator")
    parser.add_argument("--inboxes", type=int, default=100, help="with --push: inboxes receiving mail at once")
    parser.add_argument("--rounds", type=int, default=3, help="with --push: how many times they all receive one")
    parser.add_argument("--sandbox-process", action="store_true",
                        help="with --push: run the sandbox in its own process (as Gmail is to a real daemon)")
    parser.add_argument("--database-url", metavar="URL", help="with --push: a PostgreSQL server to make a scratch "
                                                               "database on (dropped afterwards) instead of SQLite")
    args = parser.parse_args(argv)
    if args.push:
        from bench.latency_push import run_push
        return run_push(args)
    result = run(args.poll, args.messages or 40, args.duration or args.poll * 10, args.seed)
    print_table(f"Arrival-to-ticket latency, poll every {result['poll_seconds']} s", [
        ("messages delivered / ticketed", f"{result['messages']} / {result['ticketed']}"),
        ("over (s)", result["duration_seconds"]), ("p50 (s)", result["p50_seconds"]),
        ("p95 (s)", result["p95_seconds"]), ("max (s)", result["max_seconds"]), ("mean (s)", result["mean_seconds"])])
    write_result(f"latency-poll{args.poll}", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
