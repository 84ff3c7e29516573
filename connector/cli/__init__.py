"""The `gmail-connector` command: one subcommand module each, wired here."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from connector import __version__
from connector.settings import Settings, SettingsError

# Each module has register(subparsers) and sets func(args, settings) -> int on its parsers.
COMMAND_MODULES = (
    "connector.cli.run_cmd",
    "connector.cli.inboxes_cmd",
    "connector.cli.auth_cmd",
    "connector.cli.sync_cmd",
    "connector.cli.tickets_cmd",
    "connector.cli.reply_cmd",
    "connector.cli.status_cmd",
    "connector.cli.sandbox_cmd",
    "connector.cli.db_cmd",
    "connector.cli.parse_cmd",
    "connector.cli.addresses_cmd",
    "connector.cli.forwarding_cmd",
    "connector.cli.dns_cmd",
    "connector.cli.helpdesk_cmd",
)


# The one first step every empty listing suggests (README, "Connecting a real inbox").
NO_INBOXES = ("no inboxes connected: gmail-connector auth add ADDRESS --client-secrets client_secret.json "
              "(or gmail-connector demo to try it on the sandbox)")


class CommandError(Exception):
    """A failure the user can act on; printed without a traceback, exit status 1 (or .status)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def row_id(text: str) -> int:
    """An id argument (ticket, suspended mail): ids are 32-bit in the database."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"{value} is not an id that can exist (1 to 2147483647)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gmail-connector",
        description="Gmail API connector daemon for helpdesks: turns support mail into tickets.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--env-file", default=None, metavar="FILE",
                        help="settings file read before the environment; it must exist (default: .env when there "
                             "is one; --env-file /dev/null reads none)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.env_file is not None and not Path(args.env_file).exists():
        print(f"gmail-connector: --env-file {args.env_file}: no such file (without --env-file, .env is read "
              "when there is one)", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env(env_file=args.env_file if args.env_file is not None else ".env")
    except SettingsError as exc:
        print(f"gmail-connector: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":
        # Per-run chatter (every migration step, every scheduled pass) drowns what an operator needs.
        for noisy in ("alembic", "apscheduler.executors", "apscheduler.scheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    from connector.store.db import engines_now

    theirs = engines_now()
    try:
        return int(args.func(args, settings) or 0)
    except CommandError as exc:
        print(f"gmail-connector: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `... --json | head`: the reader has what it wanted. Python's advice: point stdout at devnull
        # so that the final flush at exit does not fail again, and exit 1.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 — the one place a failure becomes a line, not a traceback
        if args.debug:
            raise
        return _unexpected(exc, settings)
    finally:
        from connector.store.db import dispose_all

        dispose_all(keep=theirs)
        theirs.clear()          # no reference to the caller's engines outlives the command


def _unexpected(exc: Exception, settings: Settings) -> int:
    from connector.cli.failures import database_failure, safe_url

    known = database_failure(exc, safe_url(settings.database_url), settings.database_url)
    if known is not None:
        print(f"gmail-connector: {known[0]}", file=sys.stderr)
        return known[1]
    if isinstance(exc, OSError) and exc.filename:
        where = " (DATA_DIR)" if str(exc.filename).startswith(str(settings.data_dir)) or \
            str(settings.data_dir).startswith(str(exc.filename)) else ""
        print(f"gmail-connector: cannot use {exc.filename}: {exc.strerror or type(exc).__name__} — check that the "
              f"directory exists and is writable{where}", file=sys.stderr)
        return 1
    print(f"gmail-connector: unexpected {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''} "
          "(run again with --debug for the traceback)", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
