"""`gmail-connector sandbox`: run the local Gmail sandbox in the foreground until SIGINT/SIGTERM."""
from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from connector.cli import CommandError


def _route(value: str) -> tuple[str, tuple[str, int]]:
    domain, sep, target = value.partition("=")
    host, colon, port = target.rpartition(":")
    if not sep or not colon or not domain or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected DOMAIN=HOST:PORT, not {value!r}")
    return domain.strip().lower(), (host.strip("[]"), int(port))


def register(sub) -> None:
    parser = sub.add_parser("sandbox", help="run the local Gmail sandbox (Gmail API + Google OAuth on loopback)",
                            description="Serve a stateful local Gmail: the Gmail v1 REST API and Google's OAuth "
                                        "endpoints. Writes client_secret.json, service_account.json and one "
                                        "authorized-user file per mailbox into --state, and saves the whole "
                                        "sandbox there (sandbox-state.json) so a restart with the same --state "
                                        "resumes it.")
    parser.add_argument("--port", type=int, default=8025, help="port to listen on (0 picks a free one; default 8025)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--mailbox", action="append", required=True, metavar="ADDRESS",
                        help="a mailbox to create (repeatable)")
    parser.add_argument("--state", required=True, type=Path, metavar="DIR",
                        help="directory for the state files; the sandbox (mailboxes, messages, labels, history, "
                             "filters, forwarding, refresh tokens) is saved there within 0.5 s of each change "
                             "and on exit, and restored on the next start. Delete DIR/sandbox-state.json to "
                             "start afresh (`gmail-connector demo` never resumes: it starts fresh each time)")
    parser.add_argument("--quota-tier", choices=("2026", "legacy", "off"), default=None,
                        help="per-user quota model (default: the saved one, else 2026: 6,000 units/min, "
                             "messages.get costs 20)")
    parser.add_argument("--smtp-route", action="append", type=_route, default=[], metavar="DOMAIN=HOST:PORT",
                        help="relay mail for DOMAIN to this SMTP server (repeatable)")
    parser.add_argument("--pubsub", metavar="HOST:PORT", default=None,
                        help="a Pub/Sub emulator (scripts/start-pubsub.sh): users.watch checks its topic there and "
                             "Gmail's push notifications are published to it, at most one per second per mailbox")
    parser.add_argument("--pubsub-project", metavar="PROJECT", default="gmail-connector-test",
                        help="the Cloud project a watch's topic must belong to (default gmail-connector-test, "
                             "the project scripts/start-pubsub.sh creates)")
    parser.add_argument("--seed-demo", action="store_true",
                        help="deliver a few realistic support mails to each mailbox (not again on a restored state)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings, stop: threading.Event | None = None) -> int:
    from sandbox.seed import seed_mailbox

    stop = stop or threading.Event()
    # Before the server exists: a SIGTERM while it starts still gets the clean stop that saves the state.
    received: list[int] = []
    previous = _install_signal_handlers(received)
    try:
        server = _start(args)
        try:
            if args.seed_demo and not server.restored:
                for address in args.mailbox:
                    seed_mailbox(server.core, address)
            print(f"Gmail sandbox listening on {server.url}", flush=True)
            print(f"  GMAIL_API_ENDPOINT={server.url}", flush=True)
            for path in server.state_files:
                print(f"  wrote {path}", flush=True)
            if server.restored:
                print(f"  restored {len(server.core.boxes)} mailbox(es) from {server.state.path}", flush=True)
            # Issue 16, item 14: an untimed stop.wait() sleeps in sem_wait, which only a signal delivered
            # to the main thread interrupts. The kernel may hand a SIGTERM to an HTTP thread instead; its
            # Python handler then waited until a second signal happened to wake the main thread. Waking
            # every 0.1 s lets the main thread run a pending handler promptly.
            while not received and not stop.wait(0.1):
                pass
        finally:
            server.stop()
    finally:
        _restore(previous)
    print("Gmail sandbox stopped.", flush=True)
    return 0


def _start(args: argparse.Namespace):
    from sandbox.persist import StateError
    from sandbox.server import SandboxServer

    try:
        server = SandboxServer(mailboxes=args.mailbox, state_dir=args.state, quota_tier=args.quota_tier,
                              smtp_routes=dict(args.smtp_route), port=args.port, host=args.host, persist=True,
                              pubsub=args.pubsub, pubsub_project=args.pubsub_project)
    except StateError as exc:
        raise CommandError(f"cannot resume the sandbox: {exc}") from None
    try:
        return server.start()
    except OSError as exc:
        raise CommandError(f"cannot start the sandbox on {args.host}:{args.port}: {exc.strerror or exc}") from None


def _install_signal_handlers(received: list[int]) -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}      # signals can only be caught on the main thread; tests stop us with the event
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Only a list append: Event.set() takes a lock the main thread may hold inside Event.wait()
        # when the handler runs, and would deadlock it.
        previous[signum] = signal.signal(signum, lambda number, _frame: received.append(number))
    return previous


def _restore(previous: dict) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
