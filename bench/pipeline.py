"""Pipeline benchmark: parse + store + ticket, messages per second, on SQLite and on PostgreSQL.

    python bench/pipeline.py [--messages 2000] [--database-url URL]

Each message goes the way a synced Gmail message goes (`jobs.fetching`): parse, `store_raw` in its
own transaction, then `jobs.process_mail.process_one` (decide + apply) in another. Without
--database-url it measures a fresh SQLite file, and PostgreSQL too when TEST_DATABASE_URL is set
(in a scratch database created and dropped on that server).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import SUPPORT, print_table, write_result  # noqa: E402
from bench.mailgen import SupportMailGenerator  # noqa: E402
from connector.mail.parse import parse_mail  # noqa: E402
from connector.store.db import make_engine, normalise_url, session_scope, upgrade  # noqa: E402
from connector.store.inboxes import add_inbox  # noqa: E402
from connector.store.raw import store_raw  # noqa: E402
from connector.store.types import utcnow  # noqa: E402
from jobs.process_mail import Route, process_one  # noqa: E402

ROUTE = Route(SUPPORT, SUPPORT, "Support")


@contextmanager
def scratch_postgres(server_url: str):
    """A fresh database on the server for one run, dropped afterwards (the server may be shared)."""
    url = make_url(normalise_url(server_url))
    name = f"bench_pipeline_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(database_url: str, mails: list[bytes], attachments_dir: Path) -> dict:
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        inbox_id = add_inbox(session, SUPPORT).id
    outcomes: Counter[str] = Counter()
    per_message, parse_seconds = [], 0.0
    started = time.perf_counter()
    for n, raw in enumerate(mails):
        t0 = time.perf_counter()
        mail = parse_mail(raw)
        parse_seconds += time.perf_counter() - t0
        with session_scope(engine) as session:
            row = store_raw(session, "gmail", raw, inbox_id=inbox_id, gmail_id=f"bench{n:06d}",
                            thread_id=f"bench{n:06d}", label_ids=("INBOX", "UNREAD"),
                            message_id=mail.message_id, from_email=mail.from_.email,
                            subject=mail.subject[:500], received_at=utcnow())
            raw_id = row.id
        outcome = process_one(engine, raw_id, ROUTE, attachments_dir, 50 * 1024 * 1024, utcnow, parsed=mail)
        outcomes["ticket created" if outcome.startswith("ticket") else outcome.split()[0].rstrip(":")] += 1
        per_message.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    engine.dispose()
    cuts = statistics.quantiles(per_message, n=100)
    return {"backend": make_url(database_url).get_backend_name(), "messages": len(mails),
            "seconds": round(elapsed, 2), "messages_per_second": round(len(mails) / elapsed, 1),
            "parse_only_per_second": round(len(mails) / parse_seconds, 1),
            "ms_p50": round(cuts[49] * 1000, 2), "ms_p95": round(cuts[94] * 1000, 2),
            "ms_max": round(max(per_message) * 1000, 2), "outcomes": dict(outcomes)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="measure only this database (must be empty or new)")
    args = parser.parse_args(argv)
    print(f"generating {args.messages} support mails ...", flush=True)
    mails = SupportMailGenerator(SUPPORT, args.seed).generate(args.messages)
    size = sum(map(len, mails))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [args.database_url] if args.database_url else [f"sqlite:///{tmp}/bench.db"]
        if not args.database_url and os.environ.get("TEST_DATABASE_URL"):
            targets.append("postgres-scratch")
        for target in targets:
            if target == "postgres-scratch":
                with scratch_postgres(os.environ["TEST_DATABASE_URL"]) as url:
                    results.append(measure(url, mails, Path(tmp) / "att-pg"))
            else:
                results.append(measure(target, mails, Path(tmp) / "att"))
            r = results[-1]
            print_table(f"Pipeline on {r['backend']}: {r['messages']} mails, {size / len(mails) / 1024:.1f} KiB avg", [
                ("parse + store + ticket (msg/s)", r["messages_per_second"]), ("parse only (msg/s)", r["parse_only_per_second"]),
                ("per message p50 (ms)", r["ms_p50"]), ("per message p95 (ms)", r["ms_p95"]),
                ("per message max (ms)", r["ms_max"]), ("wall time (s)", r["seconds"]),
                ("outcomes", ", ".join(f"{k}: {v}" for k, v in sorted(r["outcomes"].items())))])
    write_result("pipeline", {"average_bytes": round(size / len(mails)), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
