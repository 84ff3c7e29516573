"""Helpdesk delivery benchmark: events delivered per second to a real helpdesk, and commit-to-helpdesk latency.

    eval "$(scripts/start-rt.sh | sed 's/^/export /')"
    python bench/helpdesk.py [--tickets 200] [--follow-ups 0.3] [--rate 2] [--latency-tickets 60]
    scripts/start-django-helpdesk.sh >/dev/null && python bench/helpdesk.py --helpdesk django_helpdesk

Against the real RT of RT_URL (RT_USER/RT_PASSWORD), or the django-helpdesk that
scripts/start-django-helpdesk.sh started (its settings.env; the bench answers its synchronous
webhook calls on 127.0.0.1:5491 as the daemon would). Without the server it says so and measures nothing.
Mail goes the real ticketing path with the outbox on (`Ticketing(..., outbox=True)`, as HELPDESK=rt
runs it): stored raw, read in process, decided and applied, each ticket change queueing its event
in the same transaction. Throughput: `--tickets` new requests, a `--follow-ups` share of them
followed by the customer's second mail, all committed first; then `jobs.deliver_events.deliver_events`
rounds are timed until the outbox is empty. Latency: the delivery job runs in a thread every
`--interval` seconds (as the daemon's does every 2 s) while tickets are committed at `--rate` per
second; a ticket's latency is its event's `delivered_at - created_at` (one process, one clock).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, func, select  # noqa: E402

from bench.common import SUPPORT, print_table, write_result  # noqa: E402
from bench.mailgen import SupportMailGenerator  # noqa: E402
from connector.helpdesk.django_helpdesk import DjangoHelpdesk  # noqa: E402
from connector.helpdesk.rt import RequestTracker  # noqa: E402
from connector.settings import Settings  # noqa: E402
from connector.store.db import make_engine, session_scope, upgrade  # noqa: E402
from connector.store.helpdesk_models import HelpdeskEvent  # noqa: E402
from connector.store.inboxes import add_inbox  # noqa: E402
from connector.store.raw import store_raw  # noqa: E402
from connector.ticketing.reader import InlineReader  # noqa: E402
from connector.ticketing.ticket_mail import Ticketing, ticket_stored_mail  # noqa: E402
from jobs.deliver_events import deliver_events  # noqa: E402

QUEUE = "General"


def follow_up(parent_raw: bytes) -> bytes:
    """The customer writing again in the same conversation."""
    parent = message_from_bytes(parent_raw, policy=default_policy)
    msg = EmailMessage()
    msg["From"], msg["To"] = str(parent["From"]), SUPPORT
    msg["Subject"] = f"Re: {parent['Subject']}"
    msg["Message-ID"] = make_msgid(domain="mail.example.org")
    msg["In-Reply-To"] = msg["References"] = str(parent["Message-ID"])
    msg.set_content("Any news on this? It still happens.\n")
    return bytes(msg)


class World:
    """A fresh store (SQLite in a temporary directory) whose ticket changes queue events for RT."""

    def __init__(self, data_dir: Path, rt, queue: str = QUEUE):
        self.settings = Settings(data_dir=data_dir, helpdesk=rt.name, helpdesk_default_queue=queue)
        self.engine = make_engine(f"sqlite:///{data_dir / 'connector.db'}")
        upgrade(self.engine)
        with session_scope(self.engine) as session:
            self.inbox_id = add_inbox(session, SUPPORT, group="Support").id
        self.ticketing = Ticketing(engine=self.engine, reader=InlineReader(),
                                   attachments_dir=self.settings.attachments_dir,
                                   attachment_max_bytes=50 * 1024 * 1024, outbox=True)
        self.runtime = SimpleNamespace(engine=self.engine, settings=self.settings, helpdesk=rt)
        self.n = 0

    def arrive(self, raw: bytes, thread: str) -> str:
        """Store and ticket one message as a sync pass does; its outcome."""
        self.n += 1
        with session_scope(self.engine) as session:
            raw_id = store_raw(session, "gmail", raw, inbox_id=self.inbox_id, gmail_id=f"g{self.n}",
                               thread_id=thread, label_ids=("INBOX",), received_at=self.ticketing.now()).id
        return ticket_stored_mail(self.ticketing, raw_id).kind.value

    def events(self) -> list[HelpdeskEvent]:
        with Session(self.engine) as session:
            return list(session.exec(select(HelpdeskEvent).order_by(HelpdeskEvent.id)))

    def undelivered(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(HelpdeskEvent)
                                .where(HelpdeskEvent.state != "delivered")).one()


def _cuts(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return 0.0, 0.0, 0.0
    # Inclusive: with few values the default method reads a p95 above the maximum.
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return cuts[49], cuts[94], max(values)


def throughput(world: World, mail: SupportMailGenerator, tickets: int, share: float, rng: random.Random) -> dict:
    outcomes: dict[str, int] = {}
    firsts = []
    for n in range(tickets):
        raw = mail.request()
        firsts.append((raw, f"t{n}"))
        kind = world.arrive(raw, f"t{n}")
        outcomes[kind] = outcomes.get(kind, 0) + 1
    for raw, thread in rng.sample(firsts, round(tickets * share)):
        kind = world.arrive(follow_up(raw), thread)
        outcomes[kind] = outcomes.get(kind, 0) + 1
    queued = len(world.events())
    rounds, started = 0, time.perf_counter()
    while True:
        report = deliver_events(world.runtime)
        rounds += 1
        if report.unavailable or report.parked or report.errors:
            raise SystemExit(f"delivery failed: {report}")
        if report.delivered == 0 or not world.undelivered():
            break
    elapsed = time.perf_counter() - started
    events = world.events()
    delivered = [e for e in events if e.state == "delivered"]
    # Within one round events go one after another: the gap between two deliveries is one send.
    gaps: dict[str, list[float]] = {}
    ordered = sorted(delivered, key=lambda e: e.delivered_at)
    for before, event in zip(ordered, ordered[1:]):
        gaps.setdefault(event.kind, []).append((event.delivered_at - before.delivered_at).total_seconds())
    per_kind = {kind: [round(x * 1000, 1) for x in _cuts(values)] for kind, values in gaps.items()}
    return {"tickets": tickets, "follow_ups": round(tickets * share), "outcomes": outcomes, "events": queued,
            "delivered": len(delivered), "rounds": rounds, "seconds": round(elapsed, 2),
            "events_per_second": round(len(delivered) / elapsed, 2),
            "ms_per_event_p50_p95_max_by_kind": per_kind}


class DeliveryThread:
    """The delivery job as the daemon runs it: a round every `interval` seconds, never two at once."""

    def __init__(self, world: World, interval: float):
        self.world, self.interval = world, interval
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="helpdesk-delivery", daemon=True)
        self.failures: list[str] = []

    def _run(self) -> None:
        next_start = time.monotonic()
        while not self.stop_event.is_set():
            report = deliver_events(self.world.runtime)
            if report.unavailable or report.parked or report.errors:
                self.failures.append(str(report))
            next_start += self.interval
            while next_start < time.monotonic():          # a round longer than the interval: skip a tick
                next_start += self.interval
            self.stop_event.wait(next_start - time.monotonic())

    def __enter__(self) -> "DeliveryThread":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join()


def latency(world: World, mail: SupportMailGenerator, count: int, rate: float, interval: float) -> dict:
    already = {e.id for e in world.events()}
    start = time.monotonic()
    with DeliveryThread(world, interval) as job:
        for n in range(count):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            world.arrive(mail.request(), f"l{n}")
        deadline = time.monotonic() + 120
        while world.undelivered() and time.monotonic() < deadline:
            time.sleep(0.2)
    if job.failures:
        raise SystemExit(f"delivery failed: {job.failures[0]}")
    fresh = [e for e in world.events() if e.id not in already]
    late = sorted((e.delivered_at - e.created_at).total_seconds() for e in fresh if e.delivered_at)
    p50, p95, worst = _cuts(late)
    return {"tickets": count, "rate_per_second": rate, "interval_seconds": interval, "delivered": len(late),
            "p50_seconds": round(p50, 2), "p95_seconds": round(p95, 2), "max_seconds": round(worst, 2),
            "mean_seconds": round(statistics.fmean(late), 2) if late else None,
            "latencies": [round(x, 2) for x in late]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200, help="tickets for the throughput run (default 200)")
    parser.add_argument("--follow-ups", type=float, default=0.3,
                        help="share of those tickets with a follow-up comment (default 0.3)")
    parser.add_argument("--latency-tickets", type=int, default=60, help="tickets for the latency run (default 60)")
    parser.add_argument("--rate", type=float, default=2.0, help="tickets committed per second (default 2)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between delivery rounds (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--helpdesk", choices=("rt", "django_helpdesk"), default="rt",
                        help="the real helpdesk to deliver to (default rt)")
    args = parser.parse_args(argv)
    found = _destination(args.helpdesk)
    if isinstance(found, str):
        print(f"skipped: {found}")
        return 0
    rt, queue, url, stop = found
    try:
        check = rt.check([queue])
        if check.problems:
            raise SystemExit(f"{args.helpdesk} is not ready: " + "; ".join(check.problems))
        mail, rng = SupportMailGenerator(SUPPORT, args.seed), random.Random(args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            print(f"throughput: {args.tickets} tickets into {args.helpdesk} at {url} ...", flush=True)
            world = World(Path(tmp) / "throughput", rt, queue)
            rate = throughput(world, mail, args.tickets, args.follow_ups, rng)
            world.engine.dispose()
            print(f"latency: {args.latency_tickets} tickets at {args.rate}/s, a delivery round every "
                  f"{args.interval} s ...", flush=True)
            world = World(Path(tmp) / "latency", rt, queue)
            lag = latency(world, mail, args.latency_tickets, args.rate, args.interval)
            world.engine.dispose()
    finally:
        rt.close()
        stop()
    kinds = rate["ms_per_event_p50_p95_max_by_kind"]
    name = {"rt": "RT", "django_helpdesk": "django-helpdesk"}[args.helpdesk]
    print_table(f"Delivery to {name} at {url}: {rate['events']} events ({rate['tickets']} tickets, "
                f"{rate['follow_ups']} follow-ups)", [
        ("events delivered per second", rate["events_per_second"]),
        ("wall time (s)", rate["seconds"]), ("delivery rounds", rate["rounds"]),
        *((f"{kind} ms p50 / p95 / max", " / ".join(f"{v:,.0f}" for v in cuts))
          for kind, cuts in sorted(kinds.items())),
        ("outcomes", ", ".join(f"{k}: {v}" for k, v in sorted(rate["outcomes"].items())))])
    print_table(f"Committed ticket to {name} ticket, {lag['tickets']} tickets at {lag['rate_per_second']}/s, "
                f"a round every {lag['interval_seconds']} s", [
        ("delivered", f"{lag['delivered']} / {lag['tickets']}"), ("p50 (s)", lag["p50_seconds"]),
        ("p95 (s)", lag["p95_seconds"]), ("max (s)", lag["max_seconds"]), ("mean (s)", lag["mean_seconds"])])
    write_result("helpdesk" if args.helpdesk == "rt" else f"helpdesk-{args.helpdesk}",
                 {args.helpdesk: url, "throughput": rate, "latency": lag})
    return 0


def _destination(kind: str):
    """(adapter, queue, url, stop) for the running server, or why there is none."""
    if kind == "rt":
        url, user, password, token = (os.environ.get(k, "") for k in ("RT_URL", "RT_USER", "RT_PASSWORD", "RT_TOKEN"))
        if not url:
            return "RT_URL is not set (eval \"$(scripts/start-rt.sh | sed 's/^/export /')\" starts Request Tracker)"
        return RequestTracker(url, user=user, password=password, token=token), QUEUE, url, lambda: None
    where = Path(os.environ.get("DJANGO_HELPDESK_DIR", "/tmp/gmail-connector-django-helpdesk")) / "settings.env"
    if not where.is_file():
        return f"no {where} (scripts/start-django-helpdesk.sh starts django-helpdesk)"
    values = dict(line.split("=", 1) for line in where.read_text().splitlines() if "=" in line)
    adapter = DjangoHelpdesk(values["DJANGO_HELPDESK_URL"], user=values["DJANGO_HELPDESK_USER"],
                             password=values["DJANGO_HELPDESK_PASSWORD"],
                             webhook_secret=values["HELPDESK_WEBHOOK_SECRET"])
    return (adapter, values["HELPDESK_QUEUES"].split("=", 1)[1], values["DJANGO_HELPDESK_URL"],
            _answer_webhooks(int(os.environ.get("DJANGO_HELPDESK_EVENTS_PORT") or 5491)))


def _answer_webhooks(port: int):
    """django-helpdesk calls its webhook inside every write and fails the write when nobody answers."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Accept)
    except OSError:
        return lambda: None          # something (a daemon, a test) answers there already
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return lambda: (server.shutdown(), server.server_close())


if __name__ == "__main__":
    sys.exit(main())
