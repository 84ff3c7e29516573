"""Scale: 1 and 2 `gmail-connector run` daemons × 1,000 inboxes on PostgreSQL, polling every 60 s.

Prints RSS and CPU of each daemon, sync lag p95 (now - last_success_at over the inboxes), the
status endpoint's response time and how the leases are spread, and writes bench/results/scale.json.
Needs a PostgreSQL server: TEST_DATABASE_URL (scripts/start-postgres.sh prints one) or --server-url.

`--push` (bench/scale_push.py): one daemon, 1,000 watched idle inboxes, CPU, RSS and Gmail units
over an idle window, and the latency when 50 of them receive mail in the same second.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg
from sqlalchemy.engine import make_url
from sqlmodel import select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import print_table, write_result  # noqa: E402
from connector import demo_mail  # noqa: E402
from connector.bootstrap import bootstrap  # noqa: E402
from connector.cli.inboxes_cmd import connect_inbox  # noqa: E402
from connector.settings import Settings  # noqa: E402
from connector.store.db import normalise_url, session_scope  # noqa: E402
from connector.store.leases import lease_rows  # noqa: E402
from connector.store.models import Inbox  # noqa: E402
from connector.store.types import utcnow  # noqa: E402
from oauth.vault import new_key  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

RUN = [sys.executable, "-c", "import sys; from connector.cli import main; sys.exit(main(sys.argv[1:]))",
       "--env-file", "/dev/null", "run"]
TICK = os.sysconf("SC_CLK_TCK")


def proc_sample(pid: int) -> tuple[int, float]:
    """RSS in bytes and CPU seconds (user + system) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss_kb * 1024, (int(fields[11]) + int(fields[12])) / TICK


def scratch_database(server_url: str) -> tuple[str, callable]:
    url = make_url(normalise_url(server_url))
    name = f"bench_scale_{secrets.token_hex(4)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return url.set(database=name).render_as_string(hide_password=False), drop


def connect_all(srv, addresses, database_url: str, key: str, work: Path):
    runtime = bootstrap(Settings(data_dir=work / "setup", database_url=database_url,
                                 gmail_api_endpoint=srv.url, token_encryption_key=key))
    for address in addresses:
        info = json.loads((Path(srv.state_dir) / f"{address}.json").read_text())
        connect_inbox(runtime, address, "authorized_user", info)
    return runtime


def start_daemons(count: int, database_url: str, srv, key: str, work: Path, poll: int, extra_env=None) -> list:
    daemons = []
    for n in range(count):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TEST_DATABASE"))}
        env.update(DATA_DIR=str(work / f"daemon{n}"), DATABASE_URL=database_url, GMAIL_API_ENDPOINT=srv.url,
                   TOKEN_ENCRYPTION_KEY=key, POLL_INTERVAL_SECONDS=str(poll), ADMIN_BIND="127.0.0.1:0",
                   SMTP_INBOUND_BIND="127.0.0.1:0", LOG_LEVEL="WARNING", PYTHONPATH=str(REPO))
        env.update(extra_env or {})
        proc = subprocess.Popen(RUN, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        daemons.append((proc, admin_url(proc)))
    return daemons


def admin_url(proc) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"admin page: (http://\S+/)", proc.stdout.readline() or "")
        if found:
            return found.group(1)
    raise RuntimeError("a daemon never printed its admin page address")


def sync_lag_p95(engine) -> tuple[float | None, int]:
    """p95 of now - last_success_at, and how many inboxes never had a good pass."""
    now = utcnow()
    with session_scope(engine) as session:
        successes = list(session.exec(select(Inbox.last_success_at)))
    lags = sorted((now - s).total_seconds() for s in successes if s is not None)
    never = sum(1 for s in successes if s is None)
    return (lags[int(0.95 * (len(lags) - 1))] if lags else None), never


def status_timing(url: str, tries: int = 5) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(tries):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{url}status", timeout=60) as answer:
            size = len(answer.read())
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), size


def scenario(count: int, args, server_url: str, work: Path) -> dict:
    addresses = [f"support{n:04d}@scale.example" for n in range(args.inboxes)]
    database_url, drop = scratch_database(server_url)
    key = new_key()
    with SandboxServer(mailboxes=addresses, state_dir=work / "sandbox", quota_tier="2026") as srv:
        for n, address in enumerate(addresses):
            srv.core.deliver(address, demo_mail.customer_mail(address, n, attachment=False))
        runtime = connect_all(srv, addresses, database_url, key, work)
        daemons = start_daemons(count, database_url, srv, key, work, args.poll)
        started, samples = time.monotonic(), {p.pid: [] for p, _ in daemons}
        lags = []
        try:
            while time.monotonic() - started < args.seconds:
                time.sleep(5)
                for proc, _ in daemons:
                    samples[proc.pid].append((time.monotonic() - started, *proc_sample(proc.pid)))
                if time.monotonic() - started > args.poll + 10:
                    lags.append(sync_lag_p95(runtime.engine)[0])
            status = status_timing(daemons[0][1])
            lag, never = sync_lag_p95(runtime.engine)
            with session_scope(runtime.engine) as session:
                spread = Counter(row["holder"] for row in lease_rows(session).values())
        finally:
            for proc, _ in daemons:
                proc.terminate()
            for proc, _ in daemons:
                proc.wait(timeout=60)
            runtime.engine.dispose()
            drop()
    return summarise(count, samples, lag, lags, never, status, spread, args)


def summarise(count, samples, lag, lags, never, status, spread, args) -> dict:
    per_daemon = []
    for pid, rows in samples.items():
        steady = [r for r in rows if r[0] >= args.poll]
        first, last = (steady[0], steady[-1]) if len(steady) > 1 else (rows[0], rows[-1])
        per_daemon.append({"pid": pid, "rss_max_mb": max(r[1] for r in rows) / 2**20,
                           "rss_final_mb": rows[-1][1] / 2**20, "cpu_seconds_total": rows[-1][2],
                           "cpu_percent_steady": 100 * (last[2] - first[2]) / max(last[0] - first[0], 1e-9)})
    return {"daemons": count, "inboxes": args.inboxes, "poll_seconds": args.poll, "run_seconds": args.seconds,
            "per_daemon": per_daemon, "sync_lag_p95_seconds_final": lag,
            "sync_lag_p95_seconds_max_steady": max((x for x in lags if x is not None), default=None),
            "inboxes_never_synced": never, "status_median_seconds": status[0], "status_max_seconds": status[1],
            "status_bytes": status[2], "leases_per_daemon": sorted(spread.values(), reverse=True)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inboxes", type=int, default=1000)
    parser.add_argument("--poll", type=int, default=60, help="POLL_INTERVAL_SECONDS of the daemons")
    parser.add_argument("--seconds", type=int, default=80, help="how long each scenario runs")
    parser.add_argument("--server-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--push", action="store_true", help="one daemon, watched idle inboxes (bench/scale_push.py)")
    parser.add_argument("--pubsub", metavar="HOST:PORT", help="with --push: reuse this Pub/Sub emulator")
    parser.add_argument("--fallback", type=int, default=300, help="with --push: PUSH_FALLBACK_POLL_SECONDS")
    parser.add_argument("--window", type=int, help="with --push: idle window measured (default fallback + 30 s)")
    parser.add_argument("--burst", type=int, default=50, help="with --push: inboxes receiving mail at once")
    args = parser.parse_args(argv)
    if not args.server_url:
        parser.error("needs a PostgreSQL server: set TEST_DATABASE_URL (scripts/start-postgres.sh) or --server-url")
    if args.push:
        from bench.scale_push import run_push
        return run_push(args)
    results = []
    for count in (1, 2):
        with TemporaryDirectory(prefix="bench-scale-") as work:
            results.append(scenario(count, args, args.server_url, Path(work)))
    for result in results:
        rows = [("inboxes / poll", f"{result['inboxes']} / {result['poll_seconds']} s"),
                ("sync lag p95 (end; max in steady state)",
                 f"{result['sync_lag_p95_seconds_final']:.1f} s; {result['sync_lag_p95_seconds_max_steady'] or 0:.1f} s"),
                ("inboxes never synced", result["inboxes_never_synced"]),
                ("GET /status median / max", f"{result['status_median_seconds'] * 1000:.0f} / "
                                             f"{result['status_max_seconds'] * 1000:.0f} ms ({result['status_bytes']:,} B)"),
                ("leases per daemon", ", ".join(map(str, result["leases_per_daemon"])))]
        for n, d in enumerate(result["per_daemon"]):
            rows.append((f"daemon {n + 1}: RSS max / final", f"{d['rss_max_mb']:.0f} / {d['rss_final_mb']:.0f} MB"))
            rows.append((f"daemon {n + 1}: CPU steady / total", f"{d['cpu_percent_steady']:.1f} % / "
                                                                 f"{d['cpu_seconds_total']:.1f} s"))
        print_table(f"{result['daemons']} daemon(s) × {result['inboxes']} inboxes", rows)
    write_result("scale", {"scenarios": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
