"""Benchmark: admin /status (and the dashboard, /metrics and the paged lists) response time with 1,000 inboxes.

Usage: .venv/bin/python bench/status.py [--inboxes 1000] [--requests 50]
SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (a throwaway database, dropped after).
Prints a table and writes bench/results/status.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import select

from connector.admin.app import create_app
from connector.admin.server import AdminServer
from connector.gmail.usage import ApiUsage
from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.db import make_engine, normalise_url, session_scope, upgrade
from connector.store.forwarding_models import ExternalAddress
from connector.store.models import Credential, Inbox, RawMail, SuspendedMail, Ticket
from connector.store.outbound_models import OutgoingMail

TOKEN = "bench-admin-token"
RESULTS = Path(__file__).parent / "results" / "status.json"
PATHS = ("/status", "/", "/metrics")
FLOOR = "/_bench/nothing"
# The paged lists behind /status: a filtered first page, a search, and a page deep in a list (keyset, so
# it should cost what the first does).
LIST_PATHS = ("/status/inboxes?credential=needs_reauth", "/status/inboxes?q=inbox09", "/status/tickets?status=open",
              "/status/tickets?cursor=120", "/status/suspended")
MAIL_PER_INBOX = 20


class BenchDaemon:
    """Enough of the daemon for the status: started, scheduler running, a next run per inbox."""

    def __init__(self, now: datetime):
        self.started_at, self._next = now - timedelta(hours=3), now + timedelta(seconds=30)

    def scheduler_running(self) -> bool:
        return True

    def next_run(self, address: str) -> datetime:
        return self._next

    def sync_now(self, address: str) -> None:
        pass


def seed(engine, inboxes: int, now: datetime) -> None:
    """Inboxes in every state, 20 mails each over two days, tickets, held-back and outgoing mail."""
    states = ("active",) * 7 + ("paused", "needs_reauth", "error")
    rows = [{"address": f"inbox{n:04d}@example.com", "state": states[n % 10], "history_id": str(1000 + n),
             "imported_total": MAIL_PER_INBOX, "last_success_at": now - timedelta(minutes=n % 60),
             "consecutive_failures": 1 if states[n % 10] == "error" else 0,
             "last_error": "rate_limited: quota exceeded" if states[n % 10] == "error" else None,
             "created_at": now, "updated_at": now} for n in range(inboxes)]
    with session_scope(engine) as session:
        session.execute(insert(Inbox), rows)
        ids = list(session.exec(select(Inbox.id)))
        session.execute(insert(Credential), [{"inbox_id": i, "kind": "authorized_user", "secret_ciphertext": b"x",
                                              "created_at": now, "updated_at": now} for i in ids[::2]])
        session.execute(insert(RawMail), [
            {"source": "gmail", "inbox_id": i, "gmail_id": f"g{i}-{k}", "sha256": "0", "size": 0, "raw": b"",
             "received_at": now - timedelta(hours=k * 2.5), "state": "processed"}
            for i in ids for k in range(MAIL_PER_INBOX)])
        session.execute(insert(Ticket), [{"subject": f"ticket {n}", "status": ("new", "open", "solved")[n % 3],
                                          "inbox_id": ids[n % len(ids)], "created_at": now, "updated_at": now}
                                         for n in range(inboxes * 5)])
        raw_ids = list(session.exec(select(RawMail.id).limit(inboxes)))
        session.execute(insert(SuspendedMail), [{"raw_mail_id": r, "reason": "auto-reply", "kind": "auto_reply",
                                                 "received_at": now, "created_at": now} for r in raw_ids])
        session.execute(insert(ExternalAddress), [
            {"external_address": f"ext{n}@example.org", "support_address": f"ext{n}@help.example",
             "state": ("verified", "failed", "awaiting_confirmation")[n % 3], "created_at": now, "updated_at": now}
            for n in range(inboxes // 10)])
        ticket_id = session.exec(select(Ticket.id)).first()
        session.execute(insert(OutgoingMail), [
            {"ticket_id": ticket_id, "from_address": "inbox0000@example.com", "message_id": f"o{n}@help.example",
             "state": ("sent", "queued", "failed")[n % 3], "created_at": now, "updated_at": now}
            for n in range(inboxes // 2)])


def usage_for(inboxes: int) -> ApiUsage:
    usage = ApiUsage()
    for n in range(inboxes):
        for method in ("history.list", "messages.get", "messages.modify"):
            usage.record(f"inbox{n:04d}@example.com", method)
    return usage


def time_requests(base: str, path: str, count: int) -> dict:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for _ in range(3):  # warm caches and the connection pool
            session.get(base + path, timeout=60).raise_for_status()
        timings = []
        # CPU time of this process (server thread and client together, not the database server): unlike
        # the wall-clock figures it barely moves when other work shares the machine.
        cpu_start = time.process_time()
        for _ in range(count):
            start = time.perf_counter()
            response = session.get(base + path, timeout=60)
            timings.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
        cpu_ms = (time.process_time() - cpu_start) * 1000 / count
    timings.sort()
    return {"path": path, "requests": count, "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[max(0, int(round(0.95 * count)) - 1)], 1), "max_ms": round(timings[-1], 1),
            "cpu_ms": round(cpu_ms, 1), "bytes": len(response.content)}


def run_backend(name: str, url: str, inboxes: int, count: int, data_dir: Path) -> list[dict]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        now = datetime.now(timezone.utc)
        seed(engine, inboxes, now)
        runtime = Runtime(settings=Settings(data_dir=data_dir, admin_token=TOKEN, database_url=url), engine=engine)
        app = create_app(runtime, BenchDaemon(now), usage_for(inboxes))
        # A route that does nothing: what any request costs on this machine right now (a busy machine
        # adds tens of milliseconds to every figure; compare against this row).
        app.add_api_route(FLOOR, lambda: {}, methods=["GET"], include_in_schema=False)
        with AdminServer(app, "127.0.0.1", 0) as server:
            base = f"http://127.0.0.1:{server.port}"
            return [{"backend": name, "inboxes": inboxes, **time_requests(base, path, count)}
                    for path in (FLOOR, *PATHS, *LIST_PATHS)]
    finally:
        engine.dispose()


def postgres_database(url: str):
    """Create a throwaway database on TEST_DATABASE_URL's server; returns (url, drop)."""
    import psycopg

    server = make_url(normalise_url(url))
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return server.set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inboxes", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += run_backend("sqlite", f"sqlite:///{tmp}/bench.db", args.inboxes, args.requests, Path(tmp))
        if os.environ.get("TEST_DATABASE_URL"):
            url, drop = postgres_database(os.environ["TEST_DATABASE_URL"])
            try:
                results += run_backend("postgresql", url, args.inboxes, args.requests, Path(tmp))
            finally:
                drop()
    print(f"{'backend':<11} {'path':<40} {'inboxes':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu ms':>7} "
          f"{'bytes':>9}")
    for r in results:
        print(f"{r['backend']:<11} {r['path']:<40} {r['inboxes']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8} "
              f"{r['max_ms']:>8} {r['cpu_ms']:>7} {r['bytes']:>9}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    RESULTS.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
