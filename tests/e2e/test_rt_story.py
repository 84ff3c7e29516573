"""HELPDESK=rt, end to end: a support inbox's mail reaches the real Request Tracker once per conversation,
and an agent's answer written in RT goes out through Gmail in the customer's thread."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from connector import demo_mail
from tests.e2e.rt_helpers import (RTRoot, RTTicket, installation_of, rt_mail_mentioning, rt_settings, start_daemon,
                                  stop_daemon, wait_for, window_start)
from tests.e2e.test_cli_story import SUPPORT, run_cli, sandbox, sqlite_env, env  # noqa: F401

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"     # every byte value, 4 KB
REFUND = "We have refunded you."


def mail(sender: tuple[str, str], subject: str, body: str, *, in_reply_to: str | None = None,
         references: str | None = None, headers: dict[str, str] | None = None,
         attachment: tuple[str, str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender[0]} <{sender[1]}>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="mail.example.org")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment:
        filename, content_type, payload = attachment
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


@dataclass
class Story:
    """The first part's world, for the second part to go on with."""
    run: str
    zoe: tuple[str, str]
    thread_id: str
    installation: str
    since: datetime
    rt_tickets: list[RTTicket]         # this installation's tickets in RT
    ours: dict[str, dict]              # our ticket (tickets show --json) by subject
    daemon: object
    admin_url: str
    log_file: Path


def settle(admin_url: str, imported: int, delivered: int, seconds: float = 60) -> dict:
    """Waits until the inbox imported `imported` mails and the outbox delivered `delivered` events, none left."""
    def settled():
        status = requests.get(f"{admin_url}status", timeout=5).json()
        helpdesk = status["helpdesk"]
        done = (status["inboxes"][0]["imported_total"] == imported and helpdesk["delivered_last_24h"] >= delivered
                and helpdesk["queued"] == helpdesk["delivering"] == helpdesk["failed"] == 0)
        return status if done else None
    return wait_for(settled, seconds, f"{imported} mails imported and {delivered} events delivered to RT",
                    lambda: requests.get(f"{admin_url}status", timeout=5).json()["helpdesk"])


def tell_the_story(env, sandbox, capsys, monkeypatch, tmp_path) -> Story:   # noqa: F811
    rt = rt_settings()
    run = uuid.uuid4().hex[:8]
    for key, value in {"HELPDESK": "rt", **rt, "HELPDESK_QUEUES": "Billing=Billing"}.items():
        monkeypatch.setenv(key, value)
    zoe, omar = ("Zoë Müller", f"zoe.{run}@example.org"), ("Omar Haddad", f"omar.{run}@example.net")
    first = mail(zoe, f"Facture {run} en double", f"Bonjour, ma facture {run} est comptée deux fois.",
                 attachment=("facture-été.pdf", "application/pdf", PDF))
    second = mail(omar, f"Cannot log in {run}", f"Hello, since this morning I cannot log in ({run}).")
    first_id = message_from_bytes(first, policy=default_policy)["Message-ID"]
    auto = mail(zoe, f"Automatic reply: Facture {run} en double", f"Je suis absente jusqu'à lundi ({run}).",
                in_reply_to=first_id, headers={"Auto-Submitted": "auto-replied"})
    bounce = demo_mail.bounce(SUPPORT, 6).replace(b"nobody@example.net", f"nobody.{run}@example.net".encode())
    since = window_start()
    thread_id = sandbox.core.mailbox(SUPPORT).messages[sandbox.core.deliver(SUPPORT, first)].thread_id
    for raw in (second, demo_mail.reply_to(first, 2), auto, bounce):
        sandbox.core.deliver(SUPPORT, raw)
    run_cli(capsys, "inboxes", "add", SUPPORT, "--credentials", str(Path(sandbox.state_dir) / f"{SUPPORT}.json"),
            "--group", "Billing")

    log_file = tmp_path / "daemon.log"
    daemon, admin_url = start_daemon(log_file)
    try:
        settle(admin_url, imported=5, delivered=4)     # 2 tickets, the reply, the auto-reply's note
        installation = installation_of(env["DATABASE_URL"])
        root = RTRoot(rt["RT_URL"])
        try:
            rt_tickets = root.tickets_of(installation, since)
        finally:
            root.close()
        tickets = json.loads(run_cli(capsys, "tickets", "list", "--json"))
        ours = {t["subject"]: json.loads(run_cli(capsys, "tickets", "show", str(t["id"]), "--json"))
                for t in tickets}
    except BaseException:
        stop_daemon(daemon, log_file)
        raise
    return Story(run, zoe, thread_id, installation, since, rt_tickets, ours, daemon, admin_url, log_file)


@pytest.mark.timeout(180)
def test_support_mail_becomes_one_rt_ticket_per_conversation(env, sandbox, capsys, monkeypatch, tmp_path):
    story = tell_the_story(env, sandbox, capsys, monkeypatch, tmp_path)
    root = RTRoot(rt_settings()["RT_URL"])
    try:
        run, inst = story.run, story.installation
        invoice, login = f"Facture {run} en double", f"Cannot log in {run}"
        assert sorted(t.subject for t in story.rt_tickets) == sorted([invoice, login]), \
            "exactly one RT ticket per conversation"
        first, other = sorted(story.rt_tickets, key=lambda t: t.subject != invoice)
        assert (first.queue, first.requestors) == ("Billing", (story.zoe[1],))
        assert (other.queue, other.requestors) == ("Billing", (f"omar.{run}@example.net",))
        ours = story.ours[invoice]
        assert first.key == f"gmc-{inst}-t{ours['id']}"
        assert [(link["destination"], link["id"]) for link in ours["helpdesk"]] == [("rt", str(first.id))]
        assert ours["helpdesk"][0]["url"].endswith(f"/Ticket/Display.html?id={first.id}")

        transactions = root.transactions(first.id)
        assert {t.creator for t in transactions} == {"gmail-connector"}
        assert sorted(t.type for t in transactions) == ["Comment", "Correspond", "Create"]
        # In the order the mail arrived, each under its comment's key.
        assert [t.key for t in transactions] == [f"gmc-{inst}-c{c['id']}" for c in
                                                 sorted(ours["comments"], key=lambda c: c["id"])]
        by_type = {t.type: t for t in transactions}
        created, reply, note = by_type["Create"], by_type["Correspond"], by_type["Comment"]
        files = {p.filename: p for p in root.parts(created.id) if p.filename}
        assert set(files) == {"facture-été.pdf"}
        assert (files["facture-été.pdf"].content_type, files["facture-été.pdf"].data) == ("application/pdf", PDF)
        assert f"ma facture {run} est comptée deux fois" in root.text(created.id)
        assert "Firefox and in Chrome" in root.text(reply.id)
        assert f"absente jusqu'à lundi ({run})" in root.text(note.id)
        assert [t.type for t in root.transactions(other.id)] == ["Create"]

        # The bounce was held back: not a third ticket (above), nothing on ours.
        assert all(f"nobody.{run}" not in root.text(t.id) for ticket in story.rt_tickets
                   for t in root.transactions(ticket.id))
        held = json.loads(run_cli(capsys, "suspended", "list", "--json"))
        assert [h["kind"] for h in held] == ["bounce"]

        status = json.loads(run_cli(capsys, "helpdesk", "status", "--json"))
        assert (status["destination"], status["queued"], status["failed"], status["delivered_last_24h"]) == (
            "rt", 0, 0, 5)      # the customer follow-up's reopen counts (a no-op: open in RT)
    finally:
        root.close()
        err = stop_daemon(story.daemon, story.log_file)
    assert "connector-test-password" not in err


def _agents_replies_wired() -> bool:
    try:
        import jobs.pull_agent_replies  # noqa: F401
    except ImportError:
        return False
    from connector.helpdesk.rt import RequestTracker
    # The job reads nothing from a helpdesk adapter without agent_replies (it returns at once).
    return hasattr(RequestTracker, "agent_replies")


@pytest.mark.timeout(180)
def test_an_agents_answer_in_rt_reaches_the_customer_and_the_customers_answer_comes_back(
        env, sandbox, capsys, monkeypatch, tmp_path):
    if not _agents_replies_wired():
        pytest.skip("agents' replies from RT are not wired yet")
    story = tell_the_story(env, sandbox, capsys, monkeypatch, tmp_path)
    root = RTRoot(rt_settings()["RT_URL"])
    try:
        [invoice] = [t for t in story.rt_tickets if t.subject == f"Facture {story.run} en double"]
        root.correspond(invoice.id, REFUND)
        mailbox = sandbox.core.mailbox(SUPPORT)
        [sent] = wait_for(lambda: [m for m in mailbox.messages.values()
                                   if "SENT" in m.labels and REFUND.encode() in m.raw], 60,
                          "the agent's answer in Gmail's Sent mail")
        assert sent.thread_id == story.thread_id, "the answer went out in the customer's thread"
        answered = message_from_bytes(sent.raw, policy=default_policy)
        assert story.zoe[1] in str(answered["To"])

        subject = str(answered["Subject"])
        answer = mail(story.zoe, subject if subject.lower().startswith("re:") else f"Re: {subject}",
                      f"Merci, c'est bien reçu ({story.run}).", in_reply_to=str(answered["Message-ID"]),
                      references=f"{answered['References'] or ''} {answered['Message-ID']}".strip())
        landed = mailbox.messages[sandbox.core.deliver(SUPPORT, answer)]
        assert landed.thread_id == story.thread_id
        settle(story.admin_url, imported=6, delivered=5)

        assert [t.id for t in root.tickets_of(story.installation, story.since)] == sorted(
            t.id for t in story.rt_tickets), "still one RT ticket per conversation"
        transactions = root.transactions(invoice.id)
        assert [(t.type, t.creator) for t in transactions] == [
            ("Create", "gmail-connector"), ("Correspond", "gmail-connector"), ("Comment", "gmail-connector"),
            ("Correspond", "root"), ("Correspond", "gmail-connector")]
        assert f"Merci, c'est bien reçu ({story.run})" in root.text(transactions[-1].id)
        assert len({t.key for t in transactions if t.creator == "gmail-connector"}) == 4
        customers = (story.zoe[1], f"omar.{story.run}@example.net")
        assert rt_mail_mentioning(customers) == [], "RT itself mailed a customer (a second copy from RT)"
    finally:
        root.close()
        stop_daemon(story.daemon, story.log_file)
