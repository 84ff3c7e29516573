"""HELPDESK=webhook, end to end: Gmail mail reaches a real signed-webhook receiver once, in order, and the
receiver's answer, posted back to the admin API, leaves through Gmail in the customer's thread."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from connector import demo_mail
from tests.e2e.test_cli_story import CLI, SUPPORT, _admin_url, run_cli, sandbox, sqlite_env, env  # noqa: F401
from tests.helpdesk.test_webhook import SECRET, Receiver

TOKEN = "admin-token-e2e-webhook-7c1d"


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_mail_reaches_the_webhook_once_and_its_answer_goes_out_through_gmail(env, sandbox, capsys, monkeypatch):
    receiver = Receiver()
    for key, value in {"HELPDESK": "webhook", "WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET,
                       "ADMIN_TOKEN": TOKEN, "HELPDESK_QUEUES": "Support=Front desk"}.items():
        monkeypatch.setenv(key, value)
    first = demo_mail.customer_mail(SUPPORT, 1)
    sandbox.core.deliver(SUPPORT, first)
    sandbox.core.deliver(SUPPORT, demo_mail.reply_to(first, 2))
    run_cli(capsys, "inboxes", "add", SUPPORT, "--credentials", str(Path(sandbox.state_dir) / f"{SUPPORT}.json"))
    daemon = subprocess.Popen([*CLI, "--env-file", "/dev/null", "run"], env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _admin_url(daemon)
        _wait(lambda: len(receiver.events) >= 2, 30, "two events at the receiver")
        created, comment = receiver.events[:2]
        assert (created["type"], comment["type"]) == ("ticket.created", "comment.added")
        assert created["ticket"]["queue"] == "Front desk"
        assert comment["ticket"]["remote_id"] == "R-1", "the follow-up goes to the receiver's ticket"
        ticket_id = created["ticket"]["id"]

        answer = requests.post(f"{url}api/tickets/{ticket_id}/replies", timeout=5,
                               headers={"Authorization": f"Bearer {TOKEN}"},
                               json={"body": "We have refunded you."})
        assert answer.status_code == 201, answer.text
        mailbox = sandbox.core.mailbox(SUPPORT)
        sent = _wait(lambda: [m for m in mailbox.messages.values() if "SENT" in m.labels], 40, "the reply in Sent")
        [reply] = sent
        customer_thread = next(m.thread_id for m in mailbox.messages.values() if "INBOX" in m.labels)
        assert reply.thread_id == customer_thread and b"We have refunded you." in reply.raw

        status = json.loads(requests.get(f"{url}status", timeout=5, headers={"Authorization": f"Bearer {TOKEN}"}).text)
        assert status["helpdesk"]["delivered_last_24h"] == 3 and status["helpdesk"]["queued"] == 0
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        _, err = daemon.communicate()
        receiver.close()
    assert SECRET not in err and TOKEN not in err
    assert [e["type"] for e in receiver.events] == ["ticket.created", "comment.added", "ticket.reopened"], \
        "nothing delivered twice"
    assert all(d.get("Gmail-Connector-Signature") for d in receiver.deliveries)
