"""`bench/latency.py --push`: arrival to ticket with Gmail push on and polls an hour apart.

The daemon is wired as `gmail-connector run` wires it (`daemon_parts`: the scheduler and the push
listener) in this process, on a fresh SQLite store (or a scratch PostgreSQL database with --database-url), against a sandbox publishing to the Pub/Sub
emulator, as tests/push/conftest.py does; the real adapter with real sleeps, the reader in-process
(as the polling mode). Only push can bring mail in within the run: both poll intervals are 3600 s.
"""
from __future__ import annotations

import json
import random
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import print_table, wait_until, write_result
from bench.mailgen import SupportMailGenerator
from bench.push_world import emulator, percentiles, push_channel, ready, watch_for_tickets
from connector.bootstrap import bootstrap, daemon_parts
from connector.cli.inboxes_cmd import connect_inbox
from connector.settings import Settings
from bench.sandbox_process import SandboxProcess
from sandbox.server import SandboxServer

HOUR = 3600




class PushDaemon:
    """A sandbox with `addresses`, all connected, and one daemon with push on: started, then stopped."""

    def __init__(self, where, work: Path, addresses: list[str], instrument=None, server_url: str | None = None,
                 separate: bool = False):
        # instrument(parts): called before anything starts (bench/push_profile.py wraps methods there).
        # server_url: a PostgreSQL server to make a scratch database on, instead of SQLite.
        # separate: the sandbox in its own process (as Gmail is to a real daemon), not in this one.
        self.where, self.work, self.addresses, self.instrument = where, work, addresses, instrument
        self.server_url, self._drop, self.separate = server_url, None, separate

    def __enter__(self) -> "PushDaemon":
        self._channel = push_channel(self.where)
        channel = self._channel.__enter__()
        if self.separate:
            self.srv = SandboxProcess(self.addresses, self.work / "sandbox", self.where.host,
                                      self.where.project).__enter__()
        else:
            self.srv = SandboxServer(mailboxes=self.addresses, state_dir=self.work / "sandbox", quota_tier="2026",
                                     pubsub=self.where.host, pubsub_project=self.where.project).__enter__()
        store = {}
        if self.server_url:
            from bench.scale import scratch_database
            store["database_url"], self._drop = scratch_database(self.server_url)
        self.runtime = bootstrap(Settings(data_dir=self.work / "data", gmail_api_endpoint=self.srv.url, **store,
                                          poll_interval_seconds=HOUR, push_fallback_poll_seconds=HOUR,
                                          **channel.settings()))
        for address in self.addresses:
            info = json.loads((Path(self.srv.state_dir) / f"{address}.json").read_text())
            connect_inbox(self.runtime, address, "authorized_user", info, "Support")
        self.parts = daemon_parts(self.runtime)
        if self.instrument is not None:
            self.instrument(self.parts)
        self.parts.scheduler.start()
        self.parts.push.start()
        wanted = set(self.addresses)
        if not wait_until(lambda: ready(self.runtime.engine, wanted) == len(wanted), 120, step=0.5):
            raise SystemExit(f"only {ready(self.runtime.engine, wanted)} of {len(wanted)} inboxes got a watch and "
                             "a first pass within 120 s")
        time.sleep(2)       # anything the first passes stirred up has been pulled and settled
        return self

    def __exit__(self, *exc) -> None:
        self.parts.push.stop()
        self.parts.scheduler.stop()
        self.runtime.close()
        self.runtime.engine.dispose()
        if self._drop is not None:
            self._drop()
        self.srv.__exit__(*exc)
        self._channel.__exit__(*exc)

    def deliver(self, address: str, raw: bytes) -> tuple[str, datetime]:
        gmail_id = self.srv.deliver(address, raw) if self.separate else self.srv.core.deliver(address, raw)
        return gmail_id, datetime.now(timezone.utc)

    def calls(self, address: str) -> dict:
        return self.srv.calls(address) if self.separate else dict(self.srv.core.quota.calls.get(address, {}))


def _latencies(arrived: dict[str, datetime], found: dict) -> dict:
    committed = [(found["committed"][g] - at).total_seconds() for g, at in arrived.items() if g in found["committed"]]
    seen = [(found["seen"][g] - at).total_seconds() for g, at in arrived.items() if g in found["seen"]]
    return {"messages": len(arrived), "ticketed": len(committed), "commit": percentiles(committed),
            "seen": percentiles(seen), "latencies": sorted(round(x, 3) for x in committed)}


def one_inbox(where, count: int, seed: int, server_url: str | None = None, separate: bool = False) -> dict:
    rng, address = random.Random(seed), "support@masociete.com"
    mail = SupportMailGenerator(address, seed)
    with tempfile.TemporaryDirectory(prefix="bench-latency-push-") as tmp, \
            PushDaemon(where, Path(tmp), [address], server_url=server_url, separate=separate) as world:
        arrived, found = {}, {"committed": {}, "seen": {}}
        for _ in range(count):
            gid, at = world.deliver(address, mail.request())
            one = watch_for_tickets(world.runtime.engine, {gid: at}, 30)
            arrived[gid] = at
            for key in found:
                found[key].update(one[key])
            time.sleep(rng.uniform(2, 4))          # > 1 s: each mail its own notification
        stats = world.calls(address)
    return {"inboxes": 1, **_latencies(arrived, found), "gmail_calls": stats}


def many_inboxes(where, inboxes: int, rounds: int, seed: int, server_url: str | None = None,
                 separate: bool = False) -> dict:
    addresses = [f"support{n:03d}@push.example" for n in range(inboxes)]
    mails = {a: SupportMailGenerator(a, seed + n) for n, a in enumerate(addresses)}
    with tempfile.TemporaryDirectory(prefix="bench-latency-push-") as tmp, \
            PushDaemon(where, Path(tmp), addresses, server_url=server_url, separate=separate) as world:
        arrived, found, spans = {}, {"committed": {}, "seen": {}}, []
        for _ in range(rounds):
            batch = {}
            started = time.monotonic()
            for address in addresses:
                gid, at = world.deliver(address, mails[address].request())
                batch[gid] = at
            spans.append(round(time.monotonic() - started, 3))
            one = watch_for_tickets(world.runtime.engine, batch, 60)
            arrived.update(batch)
            for key in found:
                found[key].update(one[key])
            time.sleep(5)
        counters = world.parts.push.counters
    return {"inboxes": inboxes, "rounds": rounds, "delivery_span_seconds": spans, **_latencies(arrived, found),
            "push_received": counters.received, "push_acked": counters.acked}


def _rows(result: dict) -> list[tuple[str, object]]:
    c, s = result["commit"], result["seen"]
    return [("messages delivered / ticketed", f"{result['messages']} / {result['ticketed']}"),
            ("p50 / p95 (s), ticket commit", f"{c['p50_seconds']} / {c['p95_seconds']}"),
            ("max / mean (s), ticket commit", f"{c['max_seconds']} / {c['mean_seconds']}"),
            ("p50 / p95 (s), first seen (20 ms poll)", f"{s['p50_seconds']} / {s['p95_seconds']}")]


def run_push(args) -> int:
    store = ("PostgreSQL" if args.database_url else "SQLite") + (", sandbox in its own process"
                                                                 if args.sandbox_process else "")
    separate = args.sandbox_process
    with tempfile.TemporaryDirectory(prefix="bench-pubsub-") as tmp, emulator(Path(tmp), args.pubsub) as where:
        single = one_inbox(where, args.messages or 20, args.seed, args.database_url, separate)
        print_table(f"Arrival-to-ticket latency with push, one inbox (polls 3600 s apart, {store})", _rows(single))
        burst = many_inboxes(where, args.inboxes, args.rounds, args.seed, args.database_url, separate)
        print_table(f"Arrival-to-ticket latency with push, {burst['inboxes']} inboxes at once × {burst['rounds']} ({store})",
                    _rows(burst) + [("delivery of one round took (s)", ", ".join(map(str, burst["delivery_span_seconds"])))])
    write_result("latency-push" + ("-postgresql" if args.database_url else "")
                 + ("-separate" if separate else ""), {"store": store, "poll_seconds": HOUR, "push_fallback_poll_seconds": HOUR,
                                  "one_inbox": single, "many_inboxes": burst})
    return 0
