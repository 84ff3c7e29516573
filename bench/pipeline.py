"""Pipeline benchmark: store + read + decide + apply, messages per second, on SQLite and on PostgreSQL.

    python bench/pipeline.py [--messages 2000] [--database-url URL]

Each message goes the way a synced Gmail message goes (`jobs.fetching`): a fetched chunk of 100 is
stored raw in one transaction, then `ticket_stored_mails` reads each one (in the daemon's reader
worker processes, and again in this process) and decides and applies them in short write
transactions of a few messages each. The worker processes are started before the clock starts, as
a running daemon's are (they live as long as the daemon). "Parse only" is `parse_mail` in this
process over the same mails, measured in the same run; the target is end to end at least 0.5 x
parse only. Without --database-url it measures a fresh SQLite file, and PostgreSQL too when
TEST_DATABASE_URL is set (a scratch database, dropped afterwards).
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
from connector.gmail.port import RawMessage  # noqa: E402
from connector.mail.parse import parse_mail  # noqa: E402
from connector.store.db import make_engine, normalise_url, session_scope, upgrade  # noqa: E402
from connector.store.inboxes import add_inbox  # noqa: E402
from connector.ticketing.reader import InlineReader  # noqa: E402
from connector.ticketing.reader_pool import MailReaderPool  # noqa: E402
from connector.ticketing.ticket_mail import Ticketing, ticket_stored_mails  # noqa: E402
from jobs.fetching import FETCH_CHUNK, store_fetched  # noqa: E402


POOL_WORKERS = 2      # PARSE_WORKERS' default


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


def parse_only(mails: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in mails:
        parse_mail(raw)
    return len(mails) / (time.perf_counter() - started)


def measure(database_url: str, mails: list[bytes], attachments_dir: Path, reader, reader_name: str,
            read_ahead: int = 0, outbox: bool = False) -> dict:
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        inbox_id = add_inbox(session, SUPPORT).id
    ticketing = Ticketing(engine=engine, reader=reader, attachments_dir=attachments_dir,
                          attachment_max_bytes=50 * 1024 * 1024, read_ahead=read_ahead, outbox=outbox)
    messages = [RawMessage(id=f"bench{n:06d}", thread_id=f"bench{n:06d}", label_ids=("INBOX", "UNREAD"),
                           history_id="1", internal_date_ms=0, raw=raw) for n, raw in enumerate(mails)]
    outcomes: Counter[str] = Counter()
    per_message: list[float] = []
    started = time.perf_counter()
    for start in range(0, len(messages), FETCH_CHUNK):
        t0 = time.perf_counter()
        chunk = messages[start:start + FETCH_CHUNK]
        raw_ids, _ = store_fetched(engine, inbox_id, chunk, [m.id for m in chunk], {}, ticketing.now())
        store_share = (time.perf_counter() - t0) / max(1, len(raw_ids))
        t1 = time.perf_counter()
        for outcome in ticket_stored_mails(ticketing, raw_ids):
            outcomes[outcome.kind.value] += 1
            # Read ahead overlaps messages: each one's latency is the time since the previous finished.
            # One write transaction settles several, whose outcomes then arrive together.
            now = time.perf_counter()
            per_message.append(now - t1 + store_share)
            t1 = now
    elapsed = time.perf_counter() - started
    engine.dispose()
    cuts = statistics.quantiles(per_message, n=100)
    return {"backend": make_url(database_url).get_backend_name(), "reader": reader_name, "messages": len(mails),
            "seconds": round(elapsed, 2), "messages_per_second": round(len(mails) / elapsed, 1),
            "ms_p50": round(cuts[49] * 1000, 2), "ms_p95": round(cuts[94] * 1000, 2),
            "ms_max": round(max(per_message) * 1000, 2), "outcomes": dict(outcomes)}


def _targets(args, tmp: str):
    if args.database_url:
        return [lambda: _nullcontext(args.database_url)]
    targets = [lambda: _nullcontext(f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db")]
    if os.environ.get("TEST_DATABASE_URL"):
        targets.append(lambda: scratch_postgres(os.environ["TEST_DATABASE_URL"]))
    return targets


@contextmanager
def _nullcontext(value):
    yield value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="measure only this database (must be empty or new)")
    parser.add_argument("--outbox", action="store_true",
                        help="queue helpdesk events as HELPDESK=rt or webhook does (one more insert per ticket change)")
    args = parser.parse_args(argv)
    print(f"generating {args.messages} support mails ...", flush=True)
    mails = SupportMailGenerator(SUPPORT, args.seed).generate(args.messages)
    size = sum(map(len, mails))
    results = []
    with tempfile.TemporaryDirectory() as tmp, MailReaderPool(workers=POOL_WORKERS) as pool:
        pool.start()
        for target in _targets(args, tmp):
            for reader, name, ahead in ((pool, "worker processes", POOL_WORKERS), (InlineReader(), "in process", 0)):
                with target() as url:
                    baseline = parse_only(mails)
                    r = measure(url, mails, Path(tmp) / "att", reader, name, ahead, args.outbox)
                    r["outbox"] = args.outbox
                    r["parse_only_per_second"] = round(baseline, 1)
                    r["ratio_to_parse_only"] = round(r["messages_per_second"] / baseline, 2)
                    results.append(r)
                print_table(f"Pipeline on {r['backend']}, reading {name}: {r['messages']} mails, "
                            f"{size / len(mails) / 1024:.1f} KiB avg", [
                    ("store + read + ticket (msg/s)", r["messages_per_second"]),
                    ("parse only, same run (msg/s)", r["parse_only_per_second"]),
                    ("end to end / parse only", r["ratio_to_parse_only"]),
                    ("per message p50 (ms)", r["ms_p50"]), ("per message p95 (ms)", r["ms_p95"]),
                    ("per message max (ms)", r["ms_max"]), ("wall time (s)", r["seconds"]),
                    ("outcomes", ", ".join(f"{k}: {v}" for k, v in sorted(r["outcomes"].items())))])
    write_result("pipeline", {"average_bytes": round(size / len(mails)), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
