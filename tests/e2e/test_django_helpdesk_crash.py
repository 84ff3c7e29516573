"""HELPDESK=django_helpdesk under trouble: a daemon SIGKILLed in the middle of delivering, again and again.
Every conversation still ends up as exactly one django-helpdesk ticket, every message as one follow-up
with all its files.

django-helpdesk keeps no key of ours: a retried write finds its earlier try by the marker line, and
completes one whose uploads were cut short (connector/helpdesk/django_helpdesk.py). The daemon runs on
SQLite (the test reads its file while the daemon writes it); the listener of
tests/helpdesk/django_helpdesk_server.py answers django-helpdesk's webhook calls meanwhile.
"""
from __future__ import annotations

import os
import random
import uuid
from collections import Counter
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
import requests

from sandbox.server import SandboxServer
from tests.e2e.django_helpdesk_helpers import (daemon_settings, followups, last_ticket_id, marker, message_keys,
                                               tickets_of)
from tests.e2e.rt_helpers import REPO, installation_of, start_daemon, stop_daemon, wait_for
from tests.e2e.test_rt_crash import (SUPPORT, _read, connect, conversations, expected_keys, kill_during_delivery,
                                     outbox)
from tests.helpdesk.django_helpdesk_server import Agent, DjangoHelpdeskServer, find_server

CONVERSATIONS, KILLS = 14, 6
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def daemon_env(tmp_path: Path, srv: SandboxServer, server: DjangoHelpdeskServer) -> dict[str, str]:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TOKEN_ENCRYPTION_KEY")}
    env.update(daemon_settings(server), DATA_DIR=str(data), DATABASE_URL=f"sqlite:///{data / 'connector.db'}",
               GMAIL_API_ENDPOINT=srv.url, POLL_INTERVAL_SECONDS="1", ADMIN_BIND="127.0.0.1:0",
               SMTP_INBOUND_BIND="127.0.0.1:0", LOG_LEVEL="WARNING", PYTHONPATH=str(REPO))
    return env


def attachments_of(msg: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in msg.iter_attachments()}


def assert_exactly_once(agent: Agent, env: dict[str, str], threads: list[list[EmailMessage]], after_id: int,
                        story: str) -> None:
    """Our store's tickets and messages, each once in django-helpdesk, in order, with every file's bytes."""
    installation = installation_of(env["DATABASE_URL"])
    expected = expected_keys(env, installation)
    tickets = tickets_of(agent, installation, after_id)
    got = [marker(ticket["description"]).ticket for ticket in tickets]
    assert sorted(got) == sorted(expected), f"django-helpdesk tickets {sorted(got)} != ours {sorted(expected)}\n{story}"
    by_customer = {ticket["submitter_email"]: ticket for ticket in tickets}
    assert len(by_customer) == len(threads), f"not one ticket per customer\n{story}"
    for thread in threads:
        ticket = by_customer[parseaddr(str(thread[0]["From"]))[1]]
        key = marker(ticket["description"]).ticket
        assert message_keys(ticket) == expected[key], f"{key}: django-helpdesk holds {message_keys(ticket)}, " \
                                                      f"we have {expected[key]}\n{story}"
        written = [item for item in followups(ticket) if marker(item["comment"])]
        for item, msg in zip(written, thread, strict=True):
            assert marker(item["comment"]).files == len(attachments_of(msg))
            assert agent.files(item) == attachments_of(msg), f"{key}: follow-up {item['id']}'s files\n{story}"


def test_daemon_killed_while_delivering_leaves_every_message_in_django_helpdesk_exactly_once(tmp_path):
    server = find_server()
    seed = random.SystemRandom().randrange(2**32)
    rng, log, run = random.Random(seed), [f"seed {seed}"], uuid.uuid4().hex[:8]
    threads = conversations(run, rng, count=CONVERSATIONS)
    messages = sum(map(len, threads))
    events = messages + messages - len(threads)         # every customer follow-up also asks to reopen
    agent = Agent(server)
    mails_before, after_id = set(server.mails()), last_ticket_id(agent)
    with SandboxServer(mailboxes=[SUPPORT], state_dir=tmp_path / "sandbox", port=0) as srv:
        for thread in threads:
            for msg in thread:
                srv.core.deliver(SUPPORT, bytes(msg))
        env = daemon_env(tmp_path, srv, server)
        connect(env, srv, SUPPORT, "Support")
        log_file = tmp_path / "daemon.log"
        try:
            # A write takes ~0.1 s, an upload of 400 KB ~0.2 s.
            landed, mid_send = kill_during_delivery(env, events, rng, log_file, log, pause=1.2, kills=KILLS)
            daemon, url = start_daemon(log_file, env)
            try:
                wait_for(lambda: outbox(env) == Counter(delivered=events), 60, f"{events} events delivered",
                         lambda: (outbox(env), requests.get(f"{url}status", timeout=5).json()["helpdesk"]))
            finally:
                stop_daemon(daemon)
            story = "\n".join(log)
            print(story)          # pytest shows it (with the seed) when an assertion below fails
            assert landed >= 3 and mid_send >= 1, f"too few kills landed inside the delivery:\n{story}"
            [(retried,)] = _read(env, "SELECT count(*) FROM helpdesk_events WHERE attempts > 1")
            assert retried >= 1, f"no event was sent again after a kill (looked up first):\n{story}"
            assert_exactly_once(agent, env, threads, after_id, story)
            assert not set(server.mails()) - mails_before, "django-helpdesk mailed someone itself"
            assert "Traceback" not in log_file.read_text(errors="replace"), log_file.read_text()[-3000:]
        finally:
            agent.close()
