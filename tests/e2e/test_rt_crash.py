"""HELPDESK=rt under trouble: a daemon SIGKILLed in the middle of delivering, and Request Tracker down for a
while. Either way every conversation ends up as exactly one RT ticket and every message as one transaction.

The daemons run on SQLite (the tests read its file while a daemon writes it). The second test stops
and restarts the shared test RT (scripts/start-rt.sh), so it skips unless that script's RT is running.
"""
from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import time
import uuid
from collections import Counter
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from connector.store.db import make_engine, session_scope
from connector.store.helpdesk_models import HelpdeskEvent
from connector.store.models import Comment, Ticket
from connector.store.types import utcnow
from sandbox.server import SandboxServer
from tests.e2e.rt_helpers import (CLI, REPO, RTRoot, installation_of, kill_daemon, require_local_rt, rt_answers,
                                  rt_settings, start_daemon, start_rt, stop_daemon, stop_rt, wait_for, window_start)

SUPPORT, BILLING = "support@masociete.com", "billing@masociete.com"
CONVERSATIONS, KILLS = 15, 6
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def customer_mail(to: str, sender: str, subject: str, body: str, parent: EmailMessage | None = None,
                  attachment_bytes: int = 0, rng: random.Random | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, to
    msg["Subject"] = f"Re: {subject}" if parent is not None else subject
    msg["Message-ID"] = make_msgid(domain="mail.example.org")
    if parent is not None:
        msg["In-Reply-To"] = msg["References"] = parent["Message-ID"]
    msg.set_content(body)
    if attachment_bytes:
        payload = (rng or random).randbytes(attachment_bytes)
        msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename="relevé.bin")
    return msg


def conversations(run: str, rng: random.Random, to: str = SUPPORT, count: int = CONVERSATIONS,
                  sizes: tuple[int, int] = (150_000, 400_000)) -> list[list[EmailMessage]]:
    """`count` conversations of 1-3 messages, from as many customers; about half carry a few hundred KB."""
    threads = []
    for n in range(count):
        sender, subject = f"Client {n} <client{n}.{run}@example.org>", f"Question {n} ({run})"
        first = customer_mail(to, sender, subject, f"Bonjour, question {n}.", attachment_bytes=_size(rng, sizes),
                              rng=rng)
        thread = [first]
        for k in range(rng.randrange(3)):
            thread.append(customer_mail(to, sender, subject, f"Précision {k} sur la question {n}.", parent=first,
                                        attachment_bytes=_size(rng, sizes), rng=rng))
        threads.append(thread)
    return threads


def _size(rng: random.Random, sizes: tuple[int, int]) -> int:
    return rng.randrange(*sizes) if rng.random() < 0.5 else 0


def daemon_env(tmp_path: Path, srv: SandboxServer, queues: str) -> dict[str, str]:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TOKEN_ENCRYPTION_KEY")}
    env.update(rt_settings(), DATA_DIR=str(data), DATABASE_URL=f"sqlite:///{data / 'connector.db'}",
               GMAIL_API_ENDPOINT=srv.url, HELPDESK="rt", HELPDESK_QUEUES=queues, POLL_INTERVAL_SECONDS="1",
               ADMIN_BIND="127.0.0.1:0", SMTP_INBOUND_BIND="127.0.0.1:0", LOG_LEVEL="WARNING",
               PYTHONPATH=str(REPO))
    return env


def connect(env: dict[str, str], srv: SandboxServer, address: str, group: str) -> None:
    done = subprocess.run([*CLI, "--env-file", "/dev/null", "inboxes", "add", address, "--credentials",
                           str(Path(srv.state_dir) / f"{address}.json"), "--group", group],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _read(env: dict[str, str], query: str, *params) -> list[tuple]:
    """Read-only, without waiting on the daemon's writes; [] while the table is missing or locked."""
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5) as conn:
            return conn.execute(query, params).fetchall()
    except sqlite3.OperationalError:
        return []


def outbox(env: dict[str, str]) -> Counter:
    """Events by state."""
    return Counter(dict(_read(env, "SELECT state, count(*) FROM helpdesk_events GROUP BY state")))


def claims(env: dict[str, str]) -> tuple[int, int]:
    """(claims ever made, claims alive now): every claim adds an attempt; a live one is a send in flight."""
    now = f"{utcnow():%Y-%m-%d %H:%M:%S.%f}"          # SQLite holds naive UTC in this form
    rows = _read(env, "SELECT coalesce(sum(attempts), 0), coalesce(sum(state = 'delivering' AND claimed_until > ?), 0)"
                      " FROM helpdesk_events", now)
    return (rows[0][0], rows[0][1]) if rows else (0, 0)


def left_claimed(env: dict[str, str]) -> int:
    """Events a killed daemon left claimed. Not touched here: on SQLite the next daemon sees the claimer's
    process is gone and takes them again at once, asking RT first (jobs/deliver_events.py)."""
    engine = make_engine(env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            return len(session.exec(select(HelpdeskEvent.id).where(HelpdeskEvent.state == "delivering")).all())
    finally:
        engine.dispose()


def expected_keys(env: dict[str, str], installation: str) -> dict[str, list[str]]:
    """Our store's tickets and messages, as the keys RT must hold: ticket key -> message keys in order."""
    engine = make_engine(env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            keys: dict[str, list[str]] = {f"gmc-{installation}-t{t}": [] for t in session.exec(select(Ticket.id))}
            for ticket_id, comment_id in session.exec(select(Comment.ticket_id, Comment.id).order_by(Comment.id)):
                keys[f"gmc-{installation}-t{ticket_id}"].append(f"gmc-{installation}-c{comment_id}")
            return keys
    finally:
        engine.dispose()


def rt_keys(root: RTRoot, installation: str, since) -> dict[str, list[str | None]]:
    """What RT holds of this installation: ticket key -> the connector's message transactions' keys."""
    found: dict[str, list[str | None]] = {}
    for ticket in root.tickets_of(installation, since):
        assert ticket.key not in found, f"two RT tickets with key {ticket.key}: #{ticket.id} and another"
        found[ticket.key] = [t.key for t in root.transactions(ticket.id) if t.creator != "root"]
    return found


def assert_exactly_once(root: RTRoot, env: dict[str, str], since, story: str) -> None:
    installation = installation_of(env["DATABASE_URL"])
    expected, got = expected_keys(env, installation), rt_keys(root, installation, since)
    assert sorted(got) == sorted(expected), f"RT tickets {sorted(got)} != ours {sorted(expected)}\n{story}"
    for key, messages in expected.items():
        assert got[key] == messages, f"{key}: RT holds {got[key]}, we have {messages}\n{story}"
    # Each ticket's first message opens it; every later customer message also asks RT to reopen.
    assert outbox(env) == Counter(delivered=sum(2 * len(m) - 1 for m in expected.values())), story


def settle(env: dict[str, str], admin_url: str, events: int, seconds: float) -> None:
    """Every one of `events` delivered, nothing queued, claimed or parked."""
    wait_for(lambda: outbox(env) == Counter(delivered=events), seconds, f"{events} events delivered",
             lambda: (outbox(env), requests.get(f"{admin_url}status", timeout=5).json()["helpdesk"]))


def kill_during_delivery(env: dict[str, str], events: int, rng: random.Random, log_file: Path, log: list[str], *,
                         pause: float, kills: int = KILLS) -> tuple[int, int]:
    """Start a daemon, SIGKILL it a random moment (up to `pause` s) after it claimed an event, up to
    `kills` times or until all `events` are delivered. Kills that landed inside the delivery, and
    those that hit a send in flight."""
    landed = mid_send = 0
    for _ in range(kills):
        if outbox(env)["delivered"] == events:
            break                   # nothing left to interrupt: the caller's assertions say so
        reclaimed = left_claimed(env)
        before, (claimed, _) = outbox(env), claims(env)
        daemon, _url = start_daemon(log_file, env)
        try:
            # Kill once this daemon is delivering (it claimed an event), a random moment later.
            wait_for(lambda: claims(env)[0] > claimed or daemon.poll() is not None, 30,
                     "the daemon to start delivering", every=0.01)
            assert daemon.poll() is None, f"the daemon exited by itself: {log_file.read_text()[-3000:]}"
            time.sleep(rng.uniform(0.0, pause))
            at_kill, (_, in_flight) = outbox(env), claims(env)
        finally:
            kill_daemon(daemon)
        inside = at_kill["delivered"] < events
        landed, mid_send = landed + inside, mid_send + bool(in_flight)
        log.append(f"run: {reclaimed} left claimed, {before['delivered']} -> {outbox(env)['delivered']} "
                   f"delivered of {events}, " + ("killed mid-send" if in_flight else
                                                 "killed between sends" if inside else "finished"))
    return landed, mid_send


def test_daemon_killed_while_delivering_leaves_every_message_in_rt_exactly_once(tmp_path):
    env_rt = rt_settings()
    seed = random.SystemRandom().randrange(2**32)
    rng, log, run = random.Random(seed), [f"seed {seed}"], uuid.uuid4().hex[:8]
    threads = conversations(run, rng)
    messages = sum(map(len, threads))
    events = messages + messages - len(threads)         # every customer follow-up also asks to reopen
    since = window_start()
    root = RTRoot(env_rt["RT_URL"])
    with SandboxServer(mailboxes=[SUPPORT], state_dir=tmp_path / "sandbox", port=0) as srv:
        for thread in threads:
            for msg in thread:
                srv.core.deliver(SUPPORT, bytes(msg))
        env = daemon_env(tmp_path, srv, "Support=Billing")
        connect(env, srv, SUPPORT, "Support")
        log_file = tmp_path / "daemon.log"
        try:
            landed, mid_send = kill_during_delivery(env, events, rng, log_file, log, pause=2.0)
            daemon, url = start_daemon(log_file, env)
            try:
                settle(env, url, events, 60)
            finally:
                stop_daemon(daemon)
            story = "\n".join(log)
            print(story)          # pytest shows it (with the seed) when an assertion below fails
            assert landed >= 3 and mid_send >= 1, f"too few kills landed inside the delivery:\n{story}"
            [(retried,)] = _read(env, "SELECT count(*) FROM helpdesk_events WHERE attempts > 1")
            assert retried >= 1, f"no event was sent again after a kill (looked up in RT first):\n{story}"
            assert_exactly_once(root, env, since, story)
            assert "Traceback" not in log_file.read_text(errors="replace"), log_file.read_text()[-3000:]
        finally:
            root.close()


def test_rt_down_for_a_while_holds_delivery_back_but_not_gmail_sync(tmp_path):
    env_rt = rt_settings()
    require_local_rt()
    run = uuid.uuid4().hex[:8]
    since = window_start()
    ann, ben, cleo, dan = (f"{name} <{name.lower()}.{run}@example.org>" for name in ("Ann", "Ben", "Cleo", "Dan"))
    first = customer_mail(SUPPORT, ann, f"Colis perdu ({run})", "Mon colis n'est jamais arrivé.")
    while_down = [
        customer_mail(SUPPORT, ann, f"Colis perdu ({run})", "Toujours rien ?", parent=first),
        invoice := customer_mail(BILLING, ben, f"Facture en double ({run})", "Deux prélèvements ce mois-ci."),
        customer_mail(BILLING, ben, f"Facture en double ({run})", "Le relevé est joint.", parent=invoice,
                      attachment_bytes=50_000),
        customer_mail(BILLING, cleo, f"Changer d'IBAN ({run})", "Comment changer mon IBAN ?"),
        customer_mail(SUPPORT, dan, f"Mot de passe ({run})", "Je ne reçois pas le lien."),
    ]
    root = RTRoot(env_rt["RT_URL"])
    log_file = tmp_path / "daemon.log"
    with SandboxServer(mailboxes=[SUPPORT, BILLING], state_dir=tmp_path / "sandbox", port=0) as srv:
        env = daemon_env(tmp_path, srv, "Support=General,Billing=Billing")
        connect(env, srv, SUPPORT, "Support")
        connect(env, srv, BILLING, "Billing")
        srv.core.deliver(SUPPORT, bytes(first))
        daemon, url = start_daemon(log_file, env)
        try:
            settle(env, url, 1, 30)
            _while_rt_is_down(env, srv, url, while_down)
            assert rt_answers(env_rt["RT_URL"])
            settle(env, url, 1 + len(while_down) + 2, 60)   # two follow-ups, each with its reopen
            helpdesk = requests.get(f"{url}status", timeout=5).json()["helpdesk"]
            assert (helpdesk["queued"], helpdesk["failed"], helpdesk["last_error"]) == (0, 0, None)
            assert_exactly_once(root, env, since, "RT was down for a while")
            queues = sorted(t.queue for t in root.tickets_of(installation_of(env["DATABASE_URL"]), since))
            assert queues == ["Billing", "Billing", "General", "General"]
        finally:
            stop_daemon(daemon)
            root.close()


def _while_rt_is_down(env: dict[str, str], srv: SandboxServer, url: str, mail: list[EmailMessage],
                      down_seconds: float = 12) -> None:
    """Stops RT, delivers `mail` to the sandbox, checks that sync carries on and the outbox waits, restarts RT."""
    def status() -> dict:
        return requests.get(f"{url}status", timeout=5).json()

    def stored() -> tuple[int, int]:
        rows = _read(env, "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM comments)")
        return rows[0] if rows else (-1, -1)

    already = {i["address"]: i["imported_total"] for i in status()["inboxes"]}
    tickets, comments = stored()
    conversations = sum(1 for msg in mail if msg["In-Reply-To"] is None)
    stop_rt()
    stopped_at = time.monotonic()
    try:
        for msg in mail:
            srv.core.deliver(str(msg["To"]), bytes(msg))
        wanted = dict(Counter(already) + Counter(str(msg["To"]) for msg in mail))
        wait_for(lambda: {i["address"]: i["imported_total"] for i in status()["inboxes"]} == wanted, 10,
                 f"both inboxes' mail imported while RT is down ({wanted})", lambda: status()["inboxes"])
        wait_for(lambda: stored() == (tickets + conversations, comments + len(mail)), 5,
                 "the new mail as tickets and comments in our store", stored)
        helpdesk = wait_for(lambda: status()["helpdesk"]["last_error"] and status()["helpdesk"], 10,
                            "the delivery job to notice that RT is down", lambda: status()["helpdesk"])
        assert helpdesk["queued"] > 0 and "unavailable" in helpdesk["last_error"], helpdesk
        assert helpdesk["failed"] == 0, f"a helpdesk that is down parks nothing: {helpdesk}"
        time.sleep(max(0.0, down_seconds - (time.monotonic() - stopped_at)))
    finally:
        start_rt()               # RT is shared by every test: back up whatever happened above
