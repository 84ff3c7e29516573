"""Where the time goes when many watched inboxes receive mail at once: a diagnostic, not a figure.

    python bench/push_profile.py [--inboxes 100] [--rounds 3] [--py-spy /path/to/py-spy]

The `latency.py --push` burst scenario, with the daemon's own methods wrapped (never edited) to stamp
each mail's stages: delivered; published by the sandbox; pulled by the listener (`receive`);
its pass started by a worker (`_pass`) and ended; its ticket committed (`processed_at`). Also counts
`notify` calls (the listener's and the settler's nudges) and APScheduler's "skipped: maximum number
of running instances" warnings. With --py-spy, py-spy samples this process (GIL holders only) during
the rounds and the hottest functions are printed.
"""
from __future__ import annotations

import argparse
import collections
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_result  # noqa: E402
from bench.latency_push import PushDaemon  # noqa: E402
from bench.mailgen import SupportMailGenerator  # noqa: E402
from bench.push_world import emulator, percentiles, watch_for_tickets  # noqa: E402


class Stamps:
    def __init__(self):
        self.received, self.started, self.ended = {}, {}, {}
        self.notify_calls, self.passes, self.skipped = 0, 0, 0
        self.pass_seconds: list[float] = []

    def instrument(self, parts) -> None:
        daemon, push = parts.scheduler, parts.push
        receive, one_pass, notify = push.receive, daemon._pass, push._notify

        def stamped_receive(items):
            now = time.time()
            for item in items:
                address = getattr(item, "email_address", None)
                if address:
                    self.received.setdefault(address.lower(), now)
            return receive(items)

        def stamped_pass(address):
            started = time.time()
            self.started.setdefault(address, started)
            try:
                return one_pass(address)
            finally:
                self.ended.setdefault(address, time.time())
                self.passes += 1
                self.pass_seconds.append(time.time() - started)

        def counted_notify(address):
            self.notify_calls += 1
            return notify(address)
        push.receive, daemon._pass, push._notify = stamped_receive, stamped_pass, counted_notify

        stamps = self

        class Skips(logging.Handler):
            def emit(self, record):
                if "maximum number of running instances" in record.getMessage():
                    stamps.skipped += 1
        logging.getLogger("apscheduler").addHandler(Skips())

    def reset(self) -> None:
        self.__init__()


def _cache_discovery() -> None:
    """A what-if, in this process only: `build("gmail", "v1")` from a document parsed once."""
    import json

    from googleapiclient import discovery, discovery_cache

    import connector.gmail.google as adapter
    document = json.loads(discovery_cache.get_static_doc("gmail", "v1"))

    def build(name, version, http=None, client_options=None, **_):
        assert (name, version) == ("gmail", "v1")
        return discovery.build_from_document(document, http=http, client_options=client_options)
    adapter.build = build


def _stage(pairs) -> dict:
    return percentiles([b - a for a, b in pairs])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inboxes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pubsub", metavar="HOST:PORT")
    parser.add_argument("--py-spy", dest="py_spy", help="a py-spy binary: sample this process during the rounds")
    parser.add_argument("--wall", action="store_true",
                        help="with --py-spy: sample every thread, idle too, and report the passes' wall time")
    parser.add_argument("--database-url", metavar="URL", help="a PostgreSQL server (scratch database) instead of SQLite")
    parser.add_argument("--cache-discovery", action="store_true",
                        help="what-if: the Gmail client built from a discovery document parsed once (patched here only)")
    args = parser.parse_args(argv)
    if args.cache_discovery:
        _cache_discovery()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").propagate = False       # counted, not printed
    addresses = [f"support{n:03d}@push.example" for n in range(args.inboxes)]
    mails = {a: SupportMailGenerator(a, n) for n, a in enumerate(addresses)}
    stamps = Stamps()
    stages = collections.defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-push-profile-") as tmp, \
            emulator(Path(tmp), args.pubsub) as where, \
            PushDaemon(where, Path(tmp), addresses, instrument=stamps.instrument,
                       server_url=args.database_url) as world:
        spy = None
        if args.py_spy:
            spy = subprocess.Popen([args.py_spy, "record", "--pid", str(os.getpid()),
                                    "--idle" if args.wall else "--gil", "--rate", "200",
                                    "--format", "raw", "--output", str(Path(tmp) / "spy.txt"), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        totals = collections.Counter()
        for _ in range(args.rounds):
            stamps.reset()
            world.srv.core.push.published.clear()
            delivered = {}
            for address in addresses:
                gid, at = world.deliver(address, mails[address].request())
                delivered[gid] = (address, at.timestamp())
            arrived = {g: datetime.fromtimestamp(t, timezone.utc) for g, (_, t) in delivered.items()}
            found = watch_for_tickets(world.runtime.engine, arrived, 60)
            time.sleep(3)          # the passes our own label changes cause are counted too
            published = {}
            for row in list(world.srv.core.push.published):
                published.setdefault(row["mailbox"], row["at"])
            for gid, (address, at) in delivered.items():
                committed = found["committed"].get(gid)
                if committed is None or address not in stamps.started:
                    continue
                stages["delivered -> published"].append((at, published.get(address, at)))
                stages["published -> pulled"].append((published.get(address, at), stamps.received.get(address, at)))
                stages["pulled -> pass started"].append((stamps.received.get(address, at), stamps.started[address]))
                stages["pass started -> ticket committed"].append((stamps.started[address], committed.timestamp()))
                stages["delivered -> ticket committed"].append((at, committed.timestamp()))
            totals.update(passes=stamps.passes, notify_calls=stamps.notify_calls, skipped=stamps.skipped)
            stages["_pass seconds"].extend((0, s) for s in stamps.pass_seconds)
            time.sleep(2)
        if spy is not None:
            spy.send_signal(signal.SIGINT)       # py-spy writes its file on Ctrl-C
            spy.wait(timeout=30)
            only = "Daemon._pass (jobs/daemon.py" if args.wall else ""
            hot, areas = _hottest(Path(tmp) / "spy.txt", only), _areas(Path(tmp) / "spy.txt", only)
    print(f"\n{args.inboxes} inboxes at once × {args.rounds} ({'PostgreSQL' if args.database_url else 'SQLite'}): stage seconds (p50 / p95 / max)")
    for name, pairs in stages.items():
        p = _stage(pairs)
        print(f"  {name:<34} {p['p50_seconds']} / {p['p95_seconds']} / {p['max_seconds']}")
    print(f"  passes run {totals['passes']}, notify calls {totals['notify_calls']}, "
          f"APScheduler 'skipped: maximum number of running instances' {totals['skipped']}")
    if spy is not None:
        print("\nWall time of the passes (py-spy --idle)," if args.wall else "\nGIL held (py-spy --gil),", "share of samples by innermost project/library function, top 25:")
        for share, name in hot:
            print(f"  {share:5.1f} %  {name}")
        print("\nShare of samples by area (inclusive, overlapping):")
        for share, name in areas:
            print(f"  {share:5.1f} %  {name}")
    write_result("push-profile" + ("-cached-discovery" if args.cache_discovery else "") + ("-wall" if args.wall else "") + ("-postgresql" if args.database_url else ""), {"inboxes": args.inboxes, "rounds": args.rounds, **totals,
                                  "stages": {name: _stage(pairs) for name, pairs in stages.items()},
                                  "gil_hottest": hot if spy else None, "gil_areas": areas if spy else None})
    return 0


AREAS = (("the in-process Gmail sandbox (a bench artifact)", "sandbox/"),
         ("Gmail client built per pass (googleapiclient discovery build)", "discovery.py"),
         ("SQLAlchemy / the store", "sqlalchemy/"), ("ticketing (read + decide + apply)", "connector/ticketing/"),
         ("APScheduler main loop", "apscheduler/schedulers/"), ("push listener (pull, receive, settle)", "push_listener.py"),
         ("HTTP to Gmail (httplib2)", "httplib2/"), ("this bench's 20 ms store poll", "push_world.py"))


def _areas(path: Path, only: str = "") -> list[tuple[float, str]]:
    """Share of GIL-held samples whose stack passes through each area (areas overlap)."""
    counts, total = collections.Counter(), 0
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or only not in stack:
            continue                  # a frame name py-spy printed across lines, or another thread
        total += int(count)
        for name, marker in AREAS:
            if marker in stack:
                counts[name] += int(count)
    return [(100 * counts[name] / total, name) for name, _ in AREAS] if total else []


def _hottest(path: Path, only: str = "", top: int = 25) -> list[tuple[float, str]]:
    """From py-spy's collapsed stacks: per function, the share of samples it appears in (inclusive)."""
    inclusive, total = collections.Counter(), 0
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or only not in stack:
            continue
        n = int(count)
        total += n
        for frame in set(stack.split(";")):
            inclusive[frame] += n
    return [(100 * n / total, name) for name, n in inclusive.most_common(top * 3)
            if "threading.py" not in name][:top] if total else []


if __name__ == "__main__":
    sys.exit(main())
