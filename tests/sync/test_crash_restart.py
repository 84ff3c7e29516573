"""A backfill killed with SIGKILL at random moments, then finished, imports every message exactly once."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
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
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.models import Comment, RawMail, SuspendedMail, Ticket
from sandbox.server import SandboxServer
from tests.sync.conftest import SUPPORT, connect, control, make_runtime, sync

REPO = Path(__file__).resolve().parents[2]
SYNC_ONCE = [sys.executable, "-c", "import sys; from connector.cli import main; sys.exit(main(sys.argv[1:]))",
             "sync", "--once"]
KILLS = 5


def support_mix(rng: random.Random) -> tuple[list[bytes], list[bytes]]:
    """About 300 inbox messages as a support inbox sees them, plus a few that land in spam.

    Customers are spread over many addresses (a real helpdesk's crowd), so the mail-loop guard
    does not dominate; threads, attachments, duplicates and machine mail are all in the mix.
    """
    inbox: list[bytes] = []
    for n in range(230):
        raw = _from_sender(demo_mail.customer_mail(SUPPORT, 1000 + n), f"customer{n % 70}@example.org")
        inbox.append(raw)
        if rng.random() < 0.2:
            inbox.append(demo_mail.reply_to(raw, 5000 + n))
    for n in range(6):
        inbox += [demo_mail.auto_reply(SUPPORT, 7000 + n), demo_mail.bounce(SUPPORT, 7100 + n),
                  demo_mail.newsletter(SUPPORT, 7200 + n)]
    inbox += [inbox[rng.randrange(len(inbox))] for _ in range(4)]  # delivered twice by Gmail
    spam = [demo_mail.customer_mail(SUPPORT, 9000 + n) for n in range(5)]
    return inbox, spam


def _from_sender(raw: bytes, address: str) -> bytes:
    msg = message_from_bytes(raw, policy=default_policy)
    del msg["From"]
    msg["From"] = address
    return bytes(msg)


def _deliver(srv: SandboxServer, inbox: list[bytes], spam: list[bytes]) -> list[str]:
    ids = [srv.core.deliver(SUPPORT, raw) for raw in inbox]
    for raw in spam:
        srv.core.deliver(SUPPORT, raw, label_ids=["SPAM"])
    return ids


def _raw_count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM raw_mails").fetchone()[0]
    except sqlite3.OperationalError:
        return 0          # not created yet, or the writer holds the lock: ask again


def _env(data_dir: Path, srv: SandboxServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TOKEN_ENCRYPTION_KEY")}
    env.update(DATA_DIR=str(data_dir), DATABASE_URL=f"sqlite:///{data_dir / 'connector.db'}",
               GMAIL_API_ENDPOINT=srv.url, BACKFILL_MAX="1000", LOG_LEVEL="WARNING",
               PYTHONPATH=str(REPO))
    return env


def _kill_during_work(env: dict, db: Path, rng: random.Random, log: list[str]) -> bool:
    """Start a pass, wait until it is storing mail, SIGKILL it a random moment later.

    Returns False when the pass finished before the kill landed (nothing left to interrupt)."""
    before = _raw_count(db)
    proc = subprocess.Popen(SYNC_ONCE, env=env, cwd=env["DATA_DIR"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while _raw_count(db) <= before and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    # Ticketing a stored chunk of 100 takes ~150 ms now (batched): kill within it, not after it.
    time.sleep(rng.uniform(0.0, 0.08))
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=20)
    log.append(f"run: {before} -> {_raw_count(db)} raw rows, {'finished' if finished else 'killed'}")
    if finished and proc.returncode != 0:
        log.append(err.decode(errors="replace")[-2000:])
    return not finished


def _final_run(env: dict, log: list[str], attempts: int = 4) -> None:
    for _ in range(attempts):
        done = subprocess.run(SYNC_ONCE, env=env, cwd=env["DATA_DIR"], capture_output=True, timeout=60)
        log.append(f"final: exit {done.returncode}: {done.stdout.decode().strip()}")
        if done.returncode == 0:
            return
    raise AssertionError("the final sync never succeeded:\n" + "\n".join(log))


def _picture(runtime) -> dict:
    with session_scope(runtime.engine) as session:
        comments = Counter(session.exec(select(Comment.message_id)))
        return {
            "raw": Counter(session.exec(select(RawMail.gmail_id))),
            "pending": session.exec(select(func.count()).select_from(RawMail).where(RawMail.state == "pending")).one(),
            "comments": comments,
            "tickets": session.exec(select(func.count()).select_from(Ticket)).one(),
            "suspended": session.exec(select(func.count()).select_from(SuspendedMail)).one(),
            "cursor": get_inbox(session, SUPPORT).history_id,
        }


@pytest.mark.parametrize("faults", [False, True], ids=["clean-sandbox", "with-faults"])
def test_killed_backfill_finishes_with_every_message_exactly_once(tmp_path, faults):
    seed = random.SystemRandom().randrange(2**32)
    rng, log = random.Random(seed), [f"seed {seed}"]
    inbox, spam = support_mix(random.Random(seed))
    with SandboxServer(mailboxes=[SUPPORT], state_dir=tmp_path / "sandbox", quota_tier="legacy") as srv:
        ids = _deliver(srv, inbox, spam)
        # The reference: the same mailbox synced once, uninterrupted, into a fresh database.
        reference = make_runtime(tmp_path / "reference", srv)
        connect(reference, srv, SUPPORT)
        assert sync(reference).imported == len(inbox)
        expected = _picture(reference)

        crashed = make_runtime(tmp_path / "crashed", srv)
        connect(crashed, srv, SUPPORT)
        env, db = _env(tmp_path / "crashed" / "data", srv), tmp_path / "crashed" / "data" / "connector.db"
        if faults:
            control(srv, "faults", {"method": "messages.get", "status": 503, "rate": 0.05})
            control(srv, "faults", {"method": "messages.list", "status": 500, "times": 2})
            control(srv, "faults", {"method": "messages.batchModify", "status": 429, "times": 2})
        landed = sum(_kill_during_work(env, db, rng, log) for _ in range(KILLS))
        _final_run(env, log)
        got = _picture(crashed)

    story = "\n".join(log)
    print(story)          # pytest shows it (with the seed) when an assertion below fails
    assert landed >= 3, f"too few kills landed inside the work:\n{story}"
    assert set(got["raw"]) == set(ids) and max(got["raw"].values()) == 1, story
    assert got["pending"] == 0, story
    duplicated = [m for m, n in got["comments"].items() if n > 1]
    assert not duplicated, f"comments stored twice: {duplicated[:5]}\n{story}"
    assert got["comments"] == expected["comments"], story
    assert (got["tickets"], got["suspended"]) == (expected["tickets"], expected["suspended"]), story
    assert got["cursor"] is not None, story
