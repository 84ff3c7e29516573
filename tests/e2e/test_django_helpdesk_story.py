"""HELPDESK=django_helpdesk, end to end: a support inbox's mail reaches the real django-helpdesk once per
conversation, and an agent's answer written there goes out through Gmail in the customer's thread, once.

django-helpdesk's own webhook calls reach the daemon: the listener of tests/helpdesk/django_helpdesk_server.py
relays them to its admin URL for the whole test (django-helpdesk's webhook URL is fixed when it starts).
"""
from __future__ import annotations

import json
import time
import uuid
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import requests

from connector import demo_mail
from tests.e2e.django_helpdesk_helpers import daemon_settings, followups, last_ticket_id, marker, tickets_of
from tests.e2e.rt_helpers import installation_of, start_daemon, stop_daemon, wait_for
from tests.e2e.test_cli_story import SUPPORT, run_cli, sandbox, sqlite_env, env  # noqa: F401
from tests.e2e.test_rt_story import mail
from tests.helpdesk.django_helpdesk_server import EVENTS_PATH, Agent, events, find_server

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"     # every byte value, 4 KB
PDF_NAME = "Facture-été n°7 — 2026.pdf"
REFUND = "We have refunded you: the second charge is cancelled."
INTERNAL = "Internal: the refund needs the manager's approval."
pytestmark = pytest.mark.timeout(180)


def settle(admin_url: str, imported: int, delivered: int, seconds: float = 60) -> dict:
    """Waits until the inbox imported `imported` mails and the outbox delivered `delivered` events, none left."""
    def status() -> dict:
        return requests.get(f"{admin_url}status", timeout=5).json()

    def settled():
        now = status()
        helpdesk = now["helpdesk"]
        done = (now["inboxes"][0]["imported_total"] == imported and helpdesk["delivered_last_24h"] >= delivered
                and helpdesk["queued"] == helpdesk["delivering"] == helpdesk["failed"] == 0)
        return now if done else None
    return wait_for(settled, seconds, f"{imported} mails imported and {delivered} events delivered to django-helpdesk",
                    lambda: status()["helpdesk"])


def sent_with(mailbox, text: str) -> list:
    return [m for m in mailbox.messages.values() if "SENT" in m.labels and text.encode() in m.raw]


def test_support_mail_reaches_django_helpdesk_once_and_the_agents_answer_goes_out_once(
        env, sandbox, capsys, monkeypatch, tmp_path):
    server = find_server()
    agent, listener = Agent(server), events()
    for name, value in daemon_settings(server).items():
        monkeypatch.setenv(name, value)
    run = uuid.uuid4().hex[:8]
    zoe, omar = ("Zoë Müller", f"zoe.{run}@example.org"), ("Omar Haddad", f"omar.{run}@example.net")
    invoice, login = f"Facture {run} en double", f"Cannot log in {run}"
    first = mail(zoe, invoice, f"Bonjour, ma facture {run} est comptée deux fois.",
                 attachment=(PDF_NAME, "application/pdf", PDF))
    first_id = message_from_bytes(first, policy=default_policy)["Message-ID"]
    auto = mail(zoe, f"Automatic reply: {invoice}", f"Je suis absente jusqu'à lundi ({run}).",
                in_reply_to=first_id, headers={"Auto-Submitted": "auto-replied"})
    bounce = demo_mail.bounce(SUPPORT, 6).replace(b"nobody@example.net", f"nobody.{run}@example.net".encode())
    mails_before, after_id, relayed_before = set(server.mails()), last_ticket_id(agent), len(listener.relayed)
    mailbox = sandbox.core.mailbox(SUPPORT)
    thread_id = mailbox.messages[sandbox.core.deliver(SUPPORT, first)].thread_id
    for raw in (mail(omar, login, f"Hello, since this morning I cannot log in ({run})."),
                demo_mail.reply_to(first, 2), auto, bounce):
        sandbox.core.deliver(SUPPORT, raw)
    run_cli(capsys, "inboxes", "add", SUPPORT, "--credentials", str(Path(sandbox.state_dir) / f"{SUPPORT}.json"),
            "--group", "Support")

    log_file = tmp_path / "daemon.log"
    daemon, admin_url = start_daemon(log_file)
    try:
        with listener.forwarding(admin_url):
            # 2 tickets, the follow-up, its reopen (a no-op: the ticket is open), the auto-reply's note.
            settle(admin_url, imported=5, delivered=5)
            installation = installation_of(env["DATABASE_URL"])
            ours = {t["subject"]: json.loads(run_cli(capsys, "tickets", "show", str(t["id"]), "--json"))
                    for t in json.loads(run_cli(capsys, "tickets", "list", "--json"))}
            tickets = {t["title"]: t for t in tickets_of(agent, installation, after_id)}

            assert sorted(tickets) == sorted([invoice, login]), "exactly one django-helpdesk ticket per conversation"
            zoes, omars = tickets[invoice], tickets[login]
            assert (zoes["submitter_email"], zoes["queue"], zoes["status"]) == (zoe[1], int(server.queue), 1)
            assert (omars["submitter_email"], omars["queue"]) == (omar[1], int(server.queue))
            assert [(link["destination"], link["id"]) for link in ours[invoice]["helpdesk"]] == \
                [("django_helpdesk", str(zoes["id"]))]
            assert marker(zoes["description"]).ticket == f"gmc-{installation}-t{ours[invoice]['id']}"

            # In the order the mail arrived, each exactly once under its comment's key.
            opening, reply, note = followups(zoes)
            comments = sorted(ours[invoice]["comments"], key=lambda c: c["id"])
            assert [marker(item["comment"]).message for item in (opening, reply, note)] == \
                [f"gmc-{installation}-c{c['id']}" for c in comments]
            assert [(item["public"], item["user"] == opening["user"]) for item in (opening, reply, note)] == \
                [(True, True), (True, True), (False, True)]
            assert f"ma facture {run} est comptée deux fois" in opening["comment"]
            assert opening["comment"].startswith(f'From: "Zoë Müller" <{zoe[1]}>\n')
            assert "Firefox and in Chrome" in reply["comment"]
            assert f"absente jusqu'à lundi ({run})" in note["comment"]
            assert agent.files(opening) == {PDF_NAME: PDF}
            assert [part["mime_type"] for part in opening["followupattachment_set"]] == ["application/pdf"]
            assert agent.files(reply) == agent.files(note) == {}
            [omars_opening] = followups(omars)
            assert omars_opening["public"] and f"cannot log in ({run})" in omars_opening["comment"]

            # The bounce was held back: no third ticket (above), nothing on ours.
            assert all(f"nobody.{run}" not in item["comment"] for t in tickets.values() for item in followups(t))
            assert [h["kind"] for h in json.loads(run_cli(capsys, "suspended", "list", "--json"))] == ["bounce"]

            # An agent's note, then an answer: the answer goes out through Gmail, the note never.
            agent.write(zoes["id"], INTERNAL, public=False)
            answer = agent.write(zoes["id"], REFUND)
            [sent] = wait_for(lambda: sent_with(mailbox, REFUND), 60, "the agent's answer in Gmail's Sent mail",
                              lambda: requests.get(f"{admin_url}status", timeout=5).json()["outgoing"])
            assert sent.thread_id == thread_id, "the answer went out in the customer's thread"
            answered = message_from_bytes(sent.raw, policy=default_policy)
            assert zoe[1] in str(answered["To"]) and omar[1] not in str(answered["To"])
            assert str(answered["Subject"]).endswith(invoice)

            time.sleep(7)           # more than one round of reading the marked tickets back (5 s)
            outgoing = requests.get(f"{admin_url}status", timeout=5).json()["outgoing"]
            assert (outgoing["pending"], outgoing["by_state"]) == (0, {"sent": 1}), outgoing
            assert len(sent_with(mailbox, REFUND)) == 1, "the agent's answer went out once"
            assert sent_with(mailbox, INTERNAL) == [] and sent_with(mailbox, "manager's approval") == []

        # django-helpdesk's own calls reached the daemon, path secret included, and were accepted.
        relayed = listener.relayed[relayed_before:]
        assert relayed and {status for _, status in relayed} == {202}, relayed
        assert {path for path, _ in relayed} == {EVENTS_PATH + server.secret}
        later = agent.ticket(zoes["id"])
        assert later["title"] == invoice, "a follow-up's subject never renames the ticket"
        assert [item["id"] for item in followups(later)][-1] == answer["id"]
        assert [marker(item["comment"]) is None for item in followups(later)] == [False, False, False, True, True]
        new_mail = {name: text for name, text in server.mails().items() if name not in mails_before}
        assert new_mail == {}, "django-helpdesk mailed someone itself"
    finally:
        agent.close()
        err = stop_daemon(daemon, log_file)
    assert server.password not in err and "Traceback" not in err, err[-3000:]
