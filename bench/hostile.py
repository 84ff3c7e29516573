"""Hostile-mail benchmark: each hostile input through Gmail and through SMTP into a running daemon.

    python bench/hostile.py [--sizes full|suite|quick] [--paths smtp gmail]

The scene of tests/hostile (a Gmail sandbox process, `gmail-connector run` as a subprocess limited
to 2 GiB of address space with default reading settings, its RSS and its readers' sampled every
20 ms), with the issue's full sizes (tests/hostile/mails.py FULL: a 30 MB message carries the
attachment, as SMTP takes 35 MB). One input at a time, so that the figures are its own: it is
sent (Gmail: delivered, then an immediate sync asked through the admin API), awaited until it
left `pending`, then one ordinary mail follows and is awaited too. An innocent SMTP client asks
RCPT all along. Per input and path:

| figure | meaning |
|---|---|
| to 250 | SMTP: sending the message until the answer to its final dot |
| to stored | sent until the raw row's commit (Gmail: includes the pass's fetch) |
| to outcome | sent until it left `pending` (suspended, or ticketed), the store's processed_at |
| reading | stored until processed: reading in a worker, deciding, applying |
| daemon / reader MiB | highest RSS sampled meanwhile, of the daemon and of its largest reader; a
  reader's VmHWM is taken instead when it rose during the input (a short peak between samples) |
| next ordinary | the ordinary mail sent right after it, until its ticket |
| slowest RCPT | the innocent client's slowest RCPT answer meanwhile |
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import print_table, write_result  # noqa: E402
from tests.hostile.conftest import (FORWARDED, SUPPORT, InnocentClient, Scene, Sent, deliver_gmail,  # noqa: E402
                                    facts, hostile_scene, send_smtp, wait_processed)
from tests.hostile.mails import (EIGHT_BIT_SENDER, FULL, QUICK, SUITE, HostileInput, hostile_inputs,  # noqa: E402
                                 ordinary)

SIZES = {"full": FULL, "suite": SUITE, "quick": QUICK}
MIB = 1 << 20
WAIT_SECONDS = 180


def _send(scene: Scene, path: str, name: str, raw: bytes, held: bool = False, reason: str = "",
          **smtp) -> Sent:
    if path == "smtp":
        return send_smtp(scene.daemon.smtp_port, name, raw, held, reason, **smtp)
    sent = deliver_gmail(scene.sandbox, name, raw, held, reason)
    scene.daemon.admin("POST", f"/inboxes/{SUPPORT}/sync")     # no poll interval in the figure
    return sent


def _settle(scene: Scene, sent: Sent) -> dict:
    settled = wait_processed(scene.engine, [sent], WAIT_SECONDS)
    time.sleep(0.05)                                 # one more memory sample after the outcome
    fact = facts(scene.engine, [sent]).get(0)
    return {"settled": settled, "fact": fact}


def measure(scene: Scene, path: str, item: HostileInput, innocent: InnocentClient, n: int, **smtp) -> dict:
    """One input through one path, then one ordinary mail; the figures of both."""
    memory = scene.memory
    readers_before, daemon_before = dict(memory.child_peaks), memory.daemon_peak
    to = SUPPORT if path == "gmail" else FORWARDED
    sent = _send(scene, path, item.name, item.build(to, f"b-{path}-{item.name}"), item.held, item.reason, **smtp)
    result = _settle(scene, sent)
    fact, end = result["fact"], time.time()
    follower = _send(scene, path, "ordinary", ordinary(to, f"b-{path}-ordinary-{n}"))
    follow = _settle(scene, follower)["fact"]
    peak = memory.peak(sent.sent_at, (fact.processed_at if fact and fact.processed_at else end) + 0.05)
    risen = [hwm for pid, hwm in memory.child_peaks.items() if hwm > readers_before.get(pid, 0)]
    return {
        "path": path, "input": item.name, "bytes": len(sent.raw), "settled": result["settled"],
        "smtp_replies": [code for code, _ in sent.replies],
        "to_250_s": sent.answered_at - sent.sent_at if sent.answered_at else None,
        "to_stored_s": fact.stored_at - sent.sent_at if fact else None,
        "to_outcome_s": fact.processed_at - sent.sent_at if fact and fact.processed_at else None,
        "reading_s": fact.processed_at - fact.stored_at if fact and fact.processed_at else None,
        "outcome": fact.outcome if fact else f"never stored: {sent.replies[-1:]}",
        "kind": fact.kind if fact else "", "raw_kept": fact.raw_kept if fact else False,
        "envelope_from": fact.envelope_from if fact else None,
        "daemon_rss_bytes": peak["daemon_rss"], "daemon_new_peak": memory.daemon_peak > daemon_before,
        "reader_rss_bytes": max([peak["largest_reader_rss"], *risen]),
        "next_ordinary_s": follow.processed_at - follower.sent_at if follow and follow.processed_at else None,
        "slowest_rcpt_s": innocent.slowest_rcpt(sent.sent_at, time.time()),
    }


def run(sizes_name: str, paths: list[str]) -> dict:
    sizes = SIZES[sizes_name]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        data = Path(tmp) / "data"
        with hostile_scene(data, f"sqlite:///{data / 'connector.db'}", Path(tmp) / "sandbox") as scene:
            idle = scene.memory.peak(0, time.time())["daemon_rss"]
            innocent = InnocentClient(scene.daemon.smtp_port).start()
            started = time.monotonic()
            try:
                for path in paths:
                    for n, item in enumerate(hostile_inputs(sizes, path)):
                        rows.append(measure(scene, path, item, innocent, n))
                        print(_line(rows[-1]), flush=True)
                    for options in ((b"", b" SMTPUTF8") if path == "smtp" else ()):
                        plain = HostileInput("8bit_envelope" + options.decode().replace(" ", "_").lower(),
                                             ordinary, held=False)
                        rows.append(measure(scene, path, plain, innocent, 100 + len(rows),
                                            mail_from=EIGHT_BIT_SENDER, options=options))
                        print(_line(rows[-1]), flush=True)
            finally:
                innocent.stop()
            summary = {
                "sizes": sizes_name, "seconds": time.monotonic() - started, "daemon_alive": scene.daemon.alive(),
                "daemon_idle_rss_bytes": idle, "daemon_peak_rss_bytes": scene.memory.daemon_peak,
                "reader_peak_rss_bytes": max(scene.memory.child_peaks.values(), default=0),
                "innocent_rcpts": len(innocent.probes), "innocent_slowest_rcpt_s": innocent.slowest_rcpt(),
                "innocent_codes": sorted({c for _, _, codes in innocent.probes for c in codes}),
                "daemon_errors": scene.daemon.errors()[-20:],
            }
            summary["daemon_exit"] = scene.daemon.stop()
    return {**summary, "inputs": rows}


def _seconds(value: float | None) -> str:
    return f"{value:8.2f}" if value is not None else "       -"


def _line(r: dict) -> str:
    return (f"{r['path']:<6}{r['input'][:28]:<29}{r['bytes']:>11,}{_seconds(r['to_250_s'])}"
            f"{_seconds(r['to_stored_s'])}{_seconds(r['to_outcome_s'])}{_seconds(r['reading_s'])}"
            f"{r['daemon_rss_bytes'] / MIB:8.0f}{r['reader_rss_bytes'] / MIB:8.0f}{_seconds(r['next_ordinary_s'])}"
            f"{r['slowest_rcpt_s']:7.3f}  {r['outcome'][:70]}")


HEADER = (f"{'path':<6}{'input':<29}{'bytes':>11}{'to 250':>8}{'stored':>8}{'outcome':>8}{'reading':>8}"
          f"{'daemon':>8}{'reader':>8}{'next':>8}{'RCPT':>7}  outcome  (seconds; MiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--paths", nargs="+", choices=("smtp", "gmail"), default=["smtp", "gmail"])
    args = parser.parse_args(argv)
    print(HEADER, flush=True)
    result = run(args.sizes, args.paths)
    print_table(f"hostile mail into a running daemon ({args.sizes} sizes)", [
        ("daemon alive at the end", str(result["daemon_alive"])),
        ("daemon exit on SIGTERM", result["daemon_exit"]),
        ("daemon idle RSS (MiB)", result["daemon_idle_rss_bytes"] / MIB),
        ("daemon peak RSS, VmHWM (MiB)", result["daemon_peak_rss_bytes"] / MIB),
        ("largest reader peak RSS (MiB)", result["reader_peak_rss_bytes"] / MIB),
        ("innocent RCPTs / slowest (s)", f"{result['innocent_rcpts']} / {result['innocent_slowest_rcpt_s']:.3f}"),
        ("innocent reply codes", ", ".join(map(str, result["innocent_codes"]))),
        ("seconds", result["seconds"]),
    ])
    for line in result["daemon_errors"]:
        print(f"daemon log: {line}")
    write_result(f"hostile_{args.sizes}", result)
    healthy = result["daemon_alive"] and result["daemon_exit"] == 0 and all(r["settled"] for r in result["inputs"])
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
