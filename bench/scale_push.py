"""`bench/scale.py --push`: one `gmail-connector run` daemon, 1,000 watched inboxes at rest, on PostgreSQL.

Set up as the polling scenario (one mail per inbox, connected with `connect_inbox`), plus PUBSUB_* of
a topic and subscription made for the run on a Pub/Sub emulator this bench starts. Once every inbox
has a watch and a cursor and the sandbox has seen no Gmail call for 10 s (the passes that follow the
switch to the safety-net interval are done), an idle window of PUSH_FALLBACK_POLL_SECONDS + 30 s is
measured: the daemon's CPU seconds and RSS from /proc every 5 s, and the sandbox's calls per method.
The window holds about one safety-net pass per inbox; its first 60 s hold none (the next one is due
270 s or more after the switch), which gives the cost of the listener, the lease rounds and the
periodic jobs alone. Then `--burst` inboxes receive one mail each in the same second.
"""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.common import print_table, write_result
from bench.push_world import emulator, percentiles, push_channel, ready, watch_for_tickets
from bench.scale import connect_all, proc_sample, scratch_database, start_daemons
from connector import demo_mail
from connector.gmail.quota_units import GMAIL_UNITS
from oauth.vault import new_key
from sandbox.server import SandboxServer

QUIET_SECONDS, QUIET_CAP = 10, 300
DAY = 86_400


def _calls(srv) -> Counter:
    with srv.core.lock:
        total = Counter()
        for per_method in srv.core.quota.calls.values():
            total.update(per_method)
    return total


def _settle(srv, engine, addresses: set[str], timeout: float = 900) -> float:
    """Wait for every watch and cursor, then for 10 s without a Gmail call; returns the seconds taken."""
    started = time.monotonic()
    while ready(engine, addresses) < len(addresses):
        if time.monotonic() - started > timeout:
            raise SystemExit(f"only {ready(engine, addresses)} of {len(addresses)} inboxes watched in {timeout} s")
        time.sleep(2)
    last, quiet_since = sum(_calls(srv).values()), time.monotonic()
    while time.monotonic() - quiet_since < QUIET_SECONDS and time.monotonic() - started < timeout + QUIET_CAP:
        time.sleep(1)
        now = sum(_calls(srv).values())
        if now != last:
            last, quiet_since = now, time.monotonic()
    return time.monotonic() - started


def _window(proc, srv, seconds: int) -> tuple[list, Counter]:
    """(t, rss, cpu, gmail calls so far) every 5 s over the window, and the calls made in it per method."""
    before, t0 = _calls(srv), time.monotonic()
    samples = [(0.0, *proc_sample(proc.pid), 0)]
    while time.monotonic() - t0 < seconds:
        time.sleep(5)
        samples.append((time.monotonic() - t0, *proc_sample(proc.pid), sum((_calls(srv) - before).values())))
    return samples, _calls(srv) - before


def _burst(srv, engine, addresses: list[str]) -> dict:
    arrived = {}
    for n, address in enumerate(addresses):
        gid = srv.core.deliver(address, demo_mail.customer_mail(address, 10_000 + n, attachment=False))
        arrived[gid] = datetime.now(timezone.utc)
    found = watch_for_tickets(engine, arrived, 120)
    committed = [(found["committed"][g] - at).total_seconds() for g, at in arrived.items() if g in found["committed"]]
    seen = [(found["seen"][g] - at).total_seconds() for g, at in arrived.items() if g in found["seen"]]
    return {"inboxes": len(addresses), "ticketed": len(committed), "commit": percentiles(committed),
            "seen": percentiles(seen), "latencies": sorted(round(x, 3) for x in committed)}


def scenario(args, work: Path) -> dict:
    addresses = [f"support{n:04d}@scale.example" for n in range(args.inboxes)]
    window = args.window or args.fallback + 30
    database_url, drop = scratch_database(args.server_url)
    key = new_key()
    with emulator(work, args.pubsub) as where, push_channel(where) as channel, \
            SandboxServer(mailboxes=addresses, state_dir=work / "sandbox", quota_tier="2026",
                          pubsub=where.host, pubsub_project=where.project) as srv:
        for n, address in enumerate(addresses):
            srv.core.deliver(address, demo_mail.customer_mail(address, n, attachment=False))
        runtime = connect_all(srv, addresses, database_url, key, work)
        env = {**channel.env(), "PUSH_FALLBACK_POLL_SECONDS": str(args.fallback)}
        [(proc, _)] = start_daemons(1, database_url, srv, key, work, args.poll, env)
        try:
            setup_seconds = _settle(srv, runtime.engine, set(addresses))
            setup_calls = _calls(srv)
            print(f"{len(addresses)} inboxes watched and quiet after {setup_seconds:.0f} s; "
                  f"measuring {window} s at rest ...", flush=True)
            samples, calls = _window(proc, srv, window)
            burst = _burst(srv, runtime.engine, addresses[:args.burst])
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            runtime.engine.dispose()
            drop()
    return summarise(args, window, setup_seconds, setup_calls, samples, calls, burst)


def summarise(args, window, setup_seconds, setup_calls, samples, calls, burst) -> dict:
    inboxes = args.inboxes
    quiet = [s for s in samples if s[0] <= 60]
    quiet_rate = (quiet[-1][2] - quiet[0][2]) / max(quiet[-1][0] - quiet[0][0], 1e-9)
    span, cpu = samples[-1][0] - samples[0][0], samples[-1][2] - samples[0][2]
    passes = calls.get("history.list", 0)
    pass_cpu = max(cpu - quiet_rate * span, 0.0) / passes if passes else None
    units = {m: n * GMAIL_UNITS.get(m, 1) for m, n in calls.items()}
    per_pass = sum(units.values()) / passes if passes else None
    passes_per_day = DAY / args.fallback
    return {"inboxes": inboxes, "poll_seconds": args.poll, "push_fallback_poll_seconds": args.fallback,
            "setup_seconds": round(setup_seconds, 1), "setup_calls": dict(setup_calls), "window_seconds": round(span, 1),
            "cpu_percent_window": round(100 * cpu / span, 2), "cpu_percent_quiet_first_60s": round(100 * quiet_rate, 2),
            "cpu_seconds_per_pass": round(pass_cpu, 4) if pass_cpu is not None else None,
            "cpu_percent_steady_estimate": round(100 * (quiet_rate + (pass_cpu or 0) * inboxes / args.fallback), 2),
            "rss_max_mb": round(max(s[1] for s in samples) / 2**20, 1), "rss_final_mb": round(samples[-1][1] / 2**20, 1),
            "window_calls": dict(calls), "window_units": units, "passes_in_window": passes,
            "units_per_pass": round(per_pass, 2) if per_pass is not None else None,
            "units_per_inbox_day_measured": round(sum(units.values()) / inboxes * DAY / span, 1),
            "units_per_inbox_day_model": round(GMAIL_UNITS["watch"] + passes_per_day * (per_pass or 0), 1),
            "timeline": [(round(t), round(r / 2**20, 1), round(c, 2), n) for t, r, c, n in samples],
            "burst": burst}


def run_push(args) -> int:
    with TemporaryDirectory(prefix="bench-scale-push-") as work:
        result = scenario(args, Path(work))
    b = result["burst"]
    print_table(f"1 daemon × {result['inboxes']} watched idle inboxes, push on", [
        ("safety-net poll / poll without push", f"{result['push_fallback_poll_seconds']} s / {result['poll_seconds']} s"),
        ("setup until watched and quiet", f"{result['setup_seconds']:.0f} s"),
        ("CPU, first 60 s at rest (no passes due)", f"{result['cpu_percent_quiet_first_60s']:.1f} % of a core"),
        (f"CPU over the {result['window_seconds']:.0f} s window", f"{result['cpu_percent_window']:.1f} % of a core "
                                                                   f"({result['passes_in_window']} passes)"),
        ("CPU per safety-net pass", f"{(result['cpu_seconds_per_pass'] or 0) * 1000:.1f} ms"),
        ("CPU steady state (estimate)", f"{result['cpu_percent_steady_estimate']:.1f} % of a core"),
        ("RSS max / final", f"{result['rss_max_mb']:.0f} / {result['rss_final_mb']:.0f} MB"),
        ("Gmail calls in the window", ", ".join(f"{m} {n}" for m, n in sorted(result["window_calls"].items()))),
        ("units per safety-net pass", result["units_per_pass"]),
        ("units / inbox / day, measured window", result["units_per_inbox_day_measured"]),
        ("units / inbox / day, model (watch + passes)", result["units_per_inbox_day_model"]),
        (f"{b['inboxes']} at once: ticketed", b["ticketed"]),
        (f"{b['inboxes']} at once: p50 / p95 / max (commit)", f"{b['commit']['p50_seconds']} / "
                                                               f"{b['commit']['p95_seconds']} / {b['commit']['max_seconds']} s"),
        (f"{b['inboxes']} at once: p50 / p95 (first seen)", f"{b['seen']['p50_seconds']} / {b['seen']['p95_seconds']} s")])
    write_result("scale-push", result)
    return 0
