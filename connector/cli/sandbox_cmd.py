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
                                        "authorized-user file per mailbox into --state.")
    parser.add_argument("--port", type=int, default=8025, help="port to listen on (0 picks a free one; default 8025)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--mailbox", action="append", required=True, metavar="ADDRESS",
                        help="a mailbox to create (repeatable)")
    parser.add_argument("--state", required=True, type=Path, metavar="DIR", help="directory for the state files")
    parser.add_argument("--quota-tier", choices=("2026", "legacy", "off"), default="2026",
                        help="per-user quota model (default 2026: 6,000 units/min, messages.get costs 20)")
    parser.add_argument("--smtp-route", action="append", type=_route, default=[], metavar="DOMAIN=HOST:PORT",
                        help="relay mail for DOMAIN to this SMTP server (repeatable)")
    parser.add_argument("--seed-demo", action="store_true", help="deliver a few realistic support mails to each mailbox")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings, stop: threading.Event | None = None) -> int:
    from sandbox.seed import seed_mailbox
    from sandbox.server import SandboxServer

    try:
        server = SandboxServer(mailboxes=args.mailbox, state_dir=args.state, quota_tier=args.quota_tier,
                               smtp_routes=dict(args.smtp_route), port=args.port, host=args.host)
        server.start()
    except OSError as exc:
        raise CommandError(f"cannot start the sandbox on {args.host}:{args.port}: {exc.strerror or exc}") from None
    stop = stop or threading.Event()
    previous = _install_signal_handlers(stop)
    try:
        if args.seed_demo:
            for address in args.mailbox:
                seed_mailbox(server.core, address)
        print(f"Gmail sandbox listening on {server.url}", flush=True)
        print(f"  GMAIL_API_ENDPOINT={server.url}", flush=True)
        for path in server.state_files:
            print(f"  wrote {path}", flush=True)
        stop.wait()
    finally:
        server.stop()
        _restore(previous)
    print("Gmail sandbox stopped.", flush=True)
    return 0


def _install_signal_handlers(stop: threading.Event) -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}      # signals can only be caught on the main thread; tests stop us with the event
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    return previous


def _restore(previous: dict) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
