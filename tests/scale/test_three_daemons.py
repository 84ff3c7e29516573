"""Three `gmail-connector run` processes on one PostgreSQL share six inboxes; one is SIGKILLed mid-backfill.

Afterwards every message is stored and ticketed exactly once, every inbox is held by exactly one
live daemon, and the dead daemon's inboxes were taken over within the lease TTL (plus one round).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlmodel import func, select

from connector import demo_mail
from connector.bootstrap import bootstrap
from jobs.fetching import FETCH_CHUNK
from connector.cli.inboxes_cmd import connect_inbox
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.leases import lease_rows
from connector.store.models import Comment, Inbox, RawMail, SuspendedMail
from oauth.vault import new_key
from sandbox.server import SandboxServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(120)]
REPO = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-c", "import sys; from connector.cli import main; sys.exit(main(sys.argv[1:]))",
       "--env-file", "/dev/null", "run"]
# More mail an inbox than one fetch chunk, so an inbox's backfill is seen half stored.
INBOXES, PER_INBOX, TTL = 6, FETCH_CHUNK + 20, 6
ROUND = TTL / 3


def _mail(to: str, seed: int) -> bytes:
    # One sender per message: the mail-loop guard would otherwise hold back a busy customer.
    msg = message_from_bytes(demo_mail.customer_mail(to, seed), policy=default_policy)
    del msg["From"]
    msg["From"] = f"customer{seed}@example.org"
    return bytes(msg)


def _env(data_dir: Path, database_url: str, sandbox_url: str, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TEST_DATABASE"))}
    env.update(DATA_DIR=str(data_dir), DATABASE_URL=database_url, GMAIL_API_ENDPOINT=sandbox_url,
               TOKEN_ENCRYPTION_KEY=key, POLL_INTERVAL_SECONDS="1", LEASE_TTL_SECONDS=str(TTL),
               ADMIN_BIND="127.0.0.1:0", SMTP_INBOUND_BIND="127.0.0.1:0", BACKFILL_MAX="1000",
               LOG_LEVEL="INFO", PYTHONPATH=str(REPO))
    return env


def _holders(engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {address: row["holder"] for address, row in lease_rows(session).items()}


def _stored(engine) -> Counter:
    with session_scope(engine) as session:
        return Counter(session.exec(select(RawMail.inbox_id)))


def _wait(predicate, seconds: float, what: str, story: list[str]):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(story))


def _pid(daemon_id: str) -> int:
    return int(daemon_id.rsplit(":", 2)[1])


def test_three_daemons_share_the_inboxes_and_survive_a_sigkill(tmp_path, throwaway_postgres):
    database_url, key, story = throwaway_postgres.create(), new_key(), []
    addresses = [f"support{n:02d}@masociete.com" for n in range(INBOXES)]
    with SandboxServer(mailboxes=addresses, state_dir=tmp_path / "sandbox", quota_tier="2026") as srv:
        delivered = {a: [srv.core.deliver(a, _mail(a, 1000 * i + n)) for n in range(PER_INBOX)]
                     for i, a in enumerate(addresses)}
        # Each fetch stalls a little, so the backfill is still running when the kill lands.
        srv.core.faults.add({"method": "messages.get", "latency_ms": 40})
        runtime = bootstrap(Settings(data_dir=tmp_path / "setup", database_url=database_url,
                                     gmail_api_endpoint=srv.url, token_encryption_key=key))
        for address in addresses:
            info = json.loads((tmp_path / "sandbox" / f"{address}.json").read_text())
            connect_inbox(runtime, address, "authorized_user", info)
        daemons = {}
        try:
            for n in range(3):
                env = _env(tmp_path / f"daemon{n}", database_url, srv.url, key)
                proc = subprocess.Popen(RUN, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                daemons[proc.pid] = proc
            victim, killed_at, lost = _kill_mid_backfill(runtime.engine, daemons, story)
            survivors = {pid: p for pid, p in daemons.items() if pid != victim}
            taken_over = _wait(lambda: lost and all(_pid(h) in survivors for a, h in _holders(runtime.engine).items()
                                                    if a in lost) and time.monotonic(),
                               TTL + 2 * ROUND + 5, "the dead daemon's inboxes to move", story)
            story.append(f"taken over {taken_over - killed_at:.1f}s after the kill (TTL {TTL}s)")
            total = INBOXES * PER_INBOX
            _wait(lambda: sum(_stored(runtime.engine).values()) == total and _settled(runtime.engine),
                  60, "every message to be stored and processed", story)
            holders = _holders(runtime.engine)
        finally:
            for proc in daemons.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            exits = {pid: _finish(proc, story) for pid, proc in daemons.items()}
        left_behind = _holders(runtime.engine)
        picture = _picture(runtime.engine)
        runtime.engine.dispose()
    text = "\n".join(story)
    print(text)
    assert taken_over - killed_at <= TTL + ROUND + 2, text
    assert sorted(holders) == addresses and {_pid(h) for h in holders.values()} <= set(survivors), text
    assert [exits[pid] for pid in survivors] == [0, 0], text
    assert left_behind == {}, f"a clean stop must hand its leases back: {left_behind}\n{text}"
    assert picture["raw"] == Counter({gid: 1 for ids in delivered.values() for gid in ids}), text
    assert max(picture["comments"].values()) == 1, text
    assert sum(picture["comments"].values()) + picture["suspended"] == total, text
    assert picture["pending"] == 0, text


def _kill_mid_backfill(engine, daemons: dict, story: list[str]) -> tuple[int, float, set[str]]:
    """SIGKILL the daemon holding inboxes whose backfill it has started but not finished."""
    def candidate():
        holders, stored = _holders(engine), _stored(engine)
        inbox_ids = _inbox_ids(engine)
        half_done = [a for a, h in holders.items() if 0 < stored.get(inbox_ids.get(a), 0) < PER_INBOX]
        return _pid(holders[half_done[0]]) if half_done else None

    victim = _wait(candidate, 40, "a daemon to be mid-backfill", story)
    lost = {a for a, h in _holders(engine).items() if _pid(h) == victim}
    daemons[victim].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    story.append(f"killed {victim} holding {len(lost)} inboxes, {sum(_stored(engine).values())} messages stored")
    return victim, killed_at, lost


def _inbox_ids(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {inbox.address: inbox.id for inbox in session.exec(select(Inbox))}


def _settled(engine) -> bool:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(RawMail).where(RawMail.state == "pending")).one() == 0


def _finish(proc: subprocess.Popen, story: list[str]) -> int:
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    tail = err.decode(errors="replace").strip().splitlines()[-8:]
    story.append(f"daemon {proc.pid} exit {proc.returncode}:\n  " + "\n  ".join(tail))
    return proc.returncode


def _picture(engine) -> dict:
    with session_scope(engine) as session:
        return {
            "raw": Counter(session.exec(select(RawMail.gmail_id))),
            "comments": Counter(session.exec(select(Comment.message_id))),
            "suspended": session.exec(select(func.count()).select_from(SuspendedMail)).one(),
            "pending": session.exec(select(func.count()).select_from(RawMail).where(RawMail.state == "pending")).one(),
        }
