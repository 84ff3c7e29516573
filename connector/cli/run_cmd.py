"""`gmail-connector run` (the daemon) and `gmail-connector demo` (the daemon on a seeded sandbox)."""
from __future__ import annotations

import json
import logging
import shutil
import signal
import threading
import time
from dataclasses import replace

from connector.bootstrap import Runtime, bootstrap, daemon_parts
from connector.cli import NO_INBOXES, CommandError
from connector.demo_push import start_demo_pubsub
from connector.helpdesk.config import missing_settings
from connector.settings import Settings
from jobs.daemon import REFRESH_SECONDS

log = logging.getLogger(__name__)
DEMO_INBOXES = (("support@demo-helpdesk.example", "Support"), ("billing@demo-helpdesk.example", "Billing"))
DEMO_CUSTOMER = "customer@gmail.com"


def register(sub) -> None:
    run = sub.add_parser("run", help="run the daemon: inbox sync, SMTP receiver, replies, admin endpoint",
                         description="Run the daemon until SIGTERM/SIGINT: one sync job per inbox every "
                                     "POLL_INTERVAL_SECONDS (with PUBSUB_TOPIC and PUBSUB_SUBSCRIPTION: Gmail "
                                     "push within seconds, and a safety-net poll every "
                                     "PUSH_FALLBACK_POLL_SECONDS), the SMTP receiver for forwarded mail on "
                                     "SMTP_INBOUND_BIND, the outgoing reply queue, the forwarding checks, "
                                     "and the admin endpoint on ADMIN_BIND.")
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS (default: run until stopped)")
    run.set_defaults(func=_run)
    demo = sub.add_parser("demo", help="try it: a seeded Gmail sandbox, the daemon and the admin page",
                          description="Start the Gmail sandbox with sample mail, connect two demo inboxes, "
                                      "and run the daemon with its admin page. Uses DATA_DIR/demo, recreated "
                                      "on every start; nothing reaches Google.")
    demo.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS (default: until Ctrl-C)")
    demo.add_argument("--trickle", type=float, default=20, metavar="SECONDS",
                      help="deliver a new customer mail every SECONDS (0: none; default 20)")
    demo.add_argument("--sandbox-port", type=int, default=0, help="port of the sandbox (default: any free port)")
    demo.add_argument("--no-push", dest="push", action="store_false",
                      help="poll only; by default Gmail push runs through Google's Pub/Sub emulator when it is "
                           "installed (scripts/start-pubsub.sh)")
    demo.set_defaults(func=_demo)


def _stop_event(duration: float | None) -> threading.Event:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    if duration:
        timer = threading.Timer(duration, stop.set)
        timer.daemon = True
        timer.start()
    return stop


def serve(runtime: Runtime, stop: threading.Event, on_tick=None, tick_seconds: float = 1.0) -> int:
    """Start scheduler, SMTP receiver and admin endpoint; wait for `stop`; shut down cleanly."""
    from connector.admin.app import create_app
    from connector.admin.auth import check_bind_allowed
    from connector.admin.server import AdminServer, AdminServerError

    host, port = runtime.settings.admin_bind
    try:
        check_bind_allowed(host, runtime.settings.admin_token)
    except ValueError as exc:
        raise CommandError(str(exc), status=2) from None
    parts = daemon_parts(runtime)
    daemon, inbound = parts.scheduler, parts.receiver
    admin = AdminServer(create_app(runtime, daemon), host, port)
    started = []
    try:
        for part in (daemon, *([parts.push] if parts.push else []), inbound, admin):
            part.start()
            started.append(part)
    except (OSError, AdminServerError) as exc:
        _stop_all(started)
        raise CommandError(f"cannot start: {getattr(exc, 'strerror', None) or exc}") from None
    print(f"SMTP receiver: {inbound.host}:{inbound.port}", flush=True)
    print(f"admin page: http://{host}:{admin.port}/", flush=True)
    try:
        while not stop.wait(tick_seconds):
            if on_tick:
                on_tick()
    finally:
        log.info("stopping: letting work in flight finish")
        _stop_all(started)
    return 0


def _stop_all(parts) -> None:
    """Newest first: stop taking requests and mail before the scheduler waits for its passes."""
    for part in reversed(parts):
        part.stop()       # the daemon's stop waits for passes in flight


def _run(args, settings: Settings) -> int:
    # Refused here only for what is wrong without asking the network; a helpdesk that is down or
    # refuses the credentials is retried, and shown on the status page with the fix.
    problems = missing_settings(settings)
    if problems:
        raise CommandError("cannot start: " + "; ".join(problems), status=2)
    runtime = bootstrap(settings, isolated_reading=True)
    push = ", Gmail push on" if settings.push_enabled else ""
    print(f"gmail-connector daemon: database {_safe_url(settings.database_url)}, "
          f"polling every {settings.poll_interval_seconds}s{push}", flush=True)
    if not _has_inboxes(runtime):
        print(f"{NO_INBOXES}; the daemon picks up an inbox added meanwhile within "
              f"{REFRESH_SECONDS} seconds", flush=True)
    try:
        return serve(runtime, _stop_event(args.duration))
    finally:
        runtime.close()


def _has_inboxes(runtime: Runtime) -> bool:
    from connector.store.db import session_scope
    from connector.store.inboxes import list_inboxes

    with session_scope(runtime.engine) as session:
        return bool(list_inboxes(session))


def _safe_url(url: str) -> str:
    """The database URL without its password, for display."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _demo(args, settings: Settings) -> int:
    demo_dir = settings.data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(mode=0o700, parents=True)
    mailboxes = [address for address, _ in DEMO_INBOXES] + [DEMO_CUSTOMER]
    pubsub, why_not = start_demo_pubsub(demo_dir / "pubsub") if args.push else (None, "--no-push")
    print(f"Gmail push: Pub/Sub emulator on {pubsub.host}" if pubsub else f"Gmail push off ({why_not}): "
          "the demo polls", flush=True)
    try:
        return _demo_with(args, settings, demo_dir, mailboxes, pubsub)
    finally:
        if pubsub is not None:
            pubsub.stop()


def _demo_with(args, settings: Settings, demo_dir, mailboxes, pubsub) -> int:
    from connector import demo_mail
    from connector.cli.inboxes_cmd import connect_inbox
    from sandbox.server import SandboxServer

    push = {"pubsub": pubsub.host, "pubsub_project": pubsub.project} if pubsub else {}
    with SandboxServer(mailboxes=mailboxes, state_dir=demo_dir / "sandbox", quota_tier="2026",
                       port=args.sandbox_port, **push) as sandbox:
        for index, (address, _) in enumerate(DEMO_INBOXES):
            for raw in demo_mail.demo_inbox_mail(address, offset=10 * index):
                sandbox.core.deliver(address, raw)
        push_settings = dict(pubsub_topic=pubsub.topic, pubsub_subscription=pubsub.subscription,
                             pubsub_emulator_host=pubsub.host) if pubsub else {}
        demo_settings = replace(settings, data_dir=demo_dir, database_url=f"sqlite:///{demo_dir / 'connector.db'}",
                                gmail_api_endpoint=sandbox.url, token_encryption_key="",
                                poll_interval_seconds=min(settings.poll_interval_seconds, 10), **push_settings)
        runtime = bootstrap(demo_settings, isolated_reading=True)
        for address, group in DEMO_INBOXES:
            info = json.loads((demo_dir / "sandbox" / f"{address}.json").read_text())
            connect_inbox(runtime, address, "authorized_user", info, group)
        print(f"Gmail sandbox: {sandbox.url}  (stats: {sandbox.url}/_sandbox/stats)", flush=True)
        print("demo inboxes: " + ", ".join(a for a, _ in DEMO_INBOXES) + "; Ctrl-C to stop", flush=True)
        try:
            return serve(runtime, _stop_event(args.duration), on_tick=_trickle(sandbox, args.trickle))
        finally:
            runtime.close()


def _trickle(sandbox, every: float):
    """New customer mail now and then, so the admin page shows mail flowing."""
    from connector import demo_mail

    if not every:
        return None
    state = {"next": time.monotonic() + every, "seed": 100}

    def tick() -> None:
        if time.monotonic() < state["next"]:
            return
        state["next"] += every
        state["seed"] += 1
        address = DEMO_INBOXES[state["seed"] % len(DEMO_INBOXES)][0]
        sandbox.core.deliver(address, demo_mail.customer_mail(address, state["seed"]))
    return tick
