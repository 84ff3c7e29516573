"""Reader pool benchmark: what reading a message in a worker process costs over `parse_mail` in-process.

    python bench/reader_pool.py [--messages 2000] [--rounds 3]

The mail is the benchmarks' usual mix (`SupportMailGenerator`, mean about 16 KB: mostly short
requests and replies, a quarter with attachments up to 200 kB). Each configuration reads every
message once after a warm-up, in each of --rounds rounds (configurations interleaved, so a busy
neighbour slows them alike), and the best round counts. "Per message" is wall time / messages, so
with threads it is the inverse of throughput. "Overhead" is per message over in-process parse_mail on one thread: the
pipe round trip, pickling the ParsedMail back, and the parent's share of the CPU.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table, write_result  # noqa: E402
from bench.mailgen import SupportMailGenerator  # noqa: E402
from connector.ticketing.reader import InlineReader  # noqa: E402
from connector.ticketing.reader_pool import MailReaderPool  # noqa: E402

# (label, workers or None for in-process, calling threads)
CONFIGURATIONS = [
    ("in-process parse_mail, 1 thread", None, 1),
    ("in-process parse_mail, 4 threads", None, 4),
    ("pool of 2 workers, 1 thread", 2, 1),
    ("pool of 2 workers, 4 threads", 2, 4),
    ("pool of 4 workers, 4 threads", 4, 4),
]


def measure(reader, mails: list[bytes], threads: int) -> dict:
    for raw in mails[:50]:
        reader.read(raw)                    # warm-up: workers started, imports and caches hot
    latencies: list[float] = []

    def work(share: list[bytes]) -> None:
        for raw in share:
            started = time.perf_counter()
            reader.read(raw)
            latencies.append(time.perf_counter() - started)

    runners = [threading.Thread(target=work, args=(mails[n::threads],)) for n in range(threads)]
    started = time.perf_counter()
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"threads": threads, "messages": len(mails), "seconds": wall,
            "us_per_message": wall / len(mails) * 1e6, "messages_per_second": len(mails) / wall,
            "call_p50_us": cuts[49] * 1e6, "call_p99_us": cuts[98] * 1e6}


def run(mails: list[bytes], rounds: int) -> dict[str, dict]:
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for label, workers, threads in CONFIGURATIONS:
            with InlineReader() if workers is None else MailReaderPool(workers=workers) as reader:
                figures = {"workers": workers, **measure(reader, mails, threads)}
            if label not in best or figures["seconds"] < best[label]["seconds"]:
                best[label] = figures
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    mails = SupportMailGenerator("support@example.com", 1).generate(args.messages)
    mean_kb = statistics.mean(map(len, mails)) / 1024
    results = run(mails, args.rounds)
    baseline = results[CONFIGURATIONS[0][0]]["us_per_message"]
    rows: list[tuple[str, object]] = [("messages (mean size, KB)", f"{len(mails):,} ({mean_kb:,.1f})")]
    for label, figures in results.items():
        figures["overhead_us_per_message"] = figures["us_per_message"] - baseline
        rows.append((label, f"{figures['us_per_message']:8,.0f} us/msg  {figures['messages_per_second']:7,.0f} msg/s"
                            f"  call p50 {figures['call_p50_us']:7,.0f} us  p99 {figures['call_p99_us']:7,.0f} us"
                            f"  overhead {figures['overhead_us_per_message']:+7,.0f} us"))
    print_table("Reading mail: worker processes versus in-process", rows)
    write_result("reader_pool", {"mean_message_kb": mean_kb, "rounds": args.rounds,
                                 "configurations": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
