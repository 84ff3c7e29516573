"""`sandbox --state DIR` resumes the whole sandbox after a restart, and one SIGTERM stops it (issue 16, item 14)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from connector.cli import main
from sandbox import persist
from sandbox.core import Sandbox
from sandbox.server import SandboxServer
from sandbox_world import ALICE, SUPPORT, b64, mail

REPO = Path(__file__).resolve().parents[2]
SANDBOX = [sys.executable, "-m", "connector.cli", "--env-file", "/dev/null", "sandbox", "--port", "0",
           "--mailbox", SUPPORT, "--mailbox", ALICE]
TICKETS = "tickets@masociete.com"
SHARING = ["https://www.googleapis.com/auth/gmail.settings.sharing",
           "https://www.googleapis.com/auth/gmail.settings.basic"]


# ---- the core, saved and restored in one process ------------------------------------------------
def _busy_core() -> Sandbox:
    """A core that has lived a little: every kind of state a user builds up."""
    core = Sandbox([SUPPORT, ALICE], quota_tier="legacy")
    box, settings = core.mailbox(SUPPORT), core.settings[SUPPORT]
    label = box.labels.create({"name": "Factures", "color": {"textColor": "#000000", "backgroundColor": "#ffffff"}})
    settings.add_forwarding(TICKETS, "accepted")
    settings.add_forwarding("someone@elsewhere.example", "pending")
    settings.create_filter({"criteria": {"from": "bob@example.com"},
                            "action": {"addLabelIds": [label["id"]], "forward": TICKETS}}, box.labels)
    settings.update_auto_forwarding({"enabled": True, "emailAddress": TICKETS, "disposition": "archive"})
    settings.add_send_as("billing@masociete.com", "Billing")
    first = core.deliver(SUPPORT, mail(msgid="<a1@example.com>"))
    core.deliver(SUPPORT, mail(subject="Re: Printer broken", in_reply_to="<a1@example.com>"))
    doomed = core.deliver(SUPPORT, mail(subject="Spam", sender="x@spam.example"))
    box.trash(box.get(first))
    box.delete(doomed)
    core.send(SUPPORT, mail(subject="Hello", sender=SUPPORT, to=ALICE))
    core.record_sends(SUPPORT, 3)
    core.oauth.issue_refresh_token(SUPPORT, ["https://mail.google.com/"])
    core.oauth.delegated_scopes = frozenset({"https://www.googleapis.com/auth/gmail.readonly"})
    return core


def _assert_same(a, b, path="core"):
    """Attribute by attribute, independent of how persist encodes them: a field that is not saved fails here."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, Message):
        assert a.as_bytes() == b.as_bytes(), path
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys differ"
        for key in a:
            _assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)) or type(a).__name__ == "deque":
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]")
    elif type(a).__module__.startswith("sandbox."):
        skip = persist.TRANSIENT.get(type(a), frozenset())
        assert set(vars(a)) == set(vars(b)), f"{path}: attributes differ"
        for name in vars(a):
            if name not in skip:
                _assert_same(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif hasattr(a, "private_numbers"):
        assert a.private_numbers() == b.private_numbers(), path
    else:
        assert a == b, path


def test_every_attribute_of_a_restored_core_equals_the_original(tmp_path):
    core = _busy_core()
    state = persist.StateFile(tmp_path)
    state.save(core)

    restored = Sandbox()
    assert state.load_into(restored) is True

    _assert_same(core, restored)
    assert restored.quota.tier == "legacy" and restored.oauth.client_id == core.oauth.client_id
    assert (tmp_path / persist.STATE_FILE).stat().st_mode & 0o777 == 0o600       # it holds tokens and mail
    assert [p.name for p in tmp_path.iterdir()] == [persist.STATE_FILE]          # no temporary file left


def test_a_field_added_to_a_mailbox_is_saved_without_touching_persist(tmp_path):
    core = _busy_core()
    core.mailbox(SUPPORT).snoozed = {"1234": (1767225600, {"INBOX"})}   # what another engineer might add
    persist.StateFile(tmp_path).save(core)
    restored = Sandbox()
    persist.StateFile(tmp_path).load_into(restored)
    assert restored.mailbox(SUPPORT).snoozed == {"1234": (1767225600, {"INBOX"})}


def test_a_snapshot_older_than_a_new_field_restores_with_the_field_default(tmp_path):
    doc = persist.snapshot(_busy_core())
    del doc["core"]["boxes"][SUPPORT]["attrs"]["drafts"]          # as saved before drafts existed
    restored = Sandbox()
    persist.restore(restored, doc)
    assert restored.mailbox(SUPPORT).drafts == {}


def test_a_value_without_an_encoder_fails_the_save_naming_where_it_is():
    core = _busy_core()
    core.mailbox(SUPPORT).cache = object()
    with pytest.raises(persist.StateError, match=r"boxes\['support@masociete.com'\]\.cache"):
        persist.snapshot(core)


def test_a_state_file_naming_a_class_outside_the_sandbox_is_refused(tmp_path):
    doc = persist.snapshot(Sandbox([SUPPORT]))
    doc["core"]["sent"] = [{"$obj": "subprocess:Popen", "attrs": {"args": ["touch", str(tmp_path / "owned")]}}]
    with pytest.raises(persist.StateError, match="unknown class subprocess:Popen"):
        persist.restore(Sandbox(), doc)
    assert not (tmp_path / "owned").exists()


def test_without_persist_a_server_starts_fresh_whatever_the_directory_holds(tmp_path):
    # The demo and the tests want a new sandbox on every start; only `sandbox --state` resumes.
    persist.StateFile(tmp_path).save(_busy_core())
    before = (tmp_path / persist.STATE_FILE).read_bytes()
    with SandboxServer(mailboxes=[SUPPORT], state_dir=tmp_path) as srv:
        assert srv.core.mailbox(SUPPORT).messages == {} and not srv.restored
    assert (tmp_path / persist.STATE_FILE).read_bytes() == before


@pytest.mark.parametrize("content, complaint", [
    ('{"core": {"boxes": ', "is damaged"),
    (json.dumps({"format": persist.FORMAT, "version": 99}), "state format version 99"),
])
def test_a_damaged_or_newer_state_is_a_one_line_error_and_left_untouched(tmp_path, capsys, content, complaint):
    (tmp_path / persist.STATE_FILE).write_text(content)
    assert main(["--env-file", "/dev/null", "sandbox", "--port", "0", "--mailbox", SUPPORT,
                 "--state", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gmail-connector: cannot resume the sandbox: ") and complaint in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / persist.STATE_FILE).read_text() == content
    assert not (tmp_path / "client_secret.json").exists()          # nothing started, nothing written


def test_a_thousand_message_snapshot_holds_the_lock_briefly():
    core = Sandbox([SUPPORT])
    box = core.mailbox(SUPPORT)
    for i in range(1000):
        box.add(mail(subject=f"Order {i}", body="Where is my parcel? " * 20), ["INBOX"])
    started = time.perf_counter()
    persist.snapshot(core)
    # Measured at about 30 ms; the bound only catches a save grown quadratic or doing I/O under the lock.
    assert time.perf_counter() - started < 0.5


# ---- kill -9 in the middle of a save -----------------------------------------------------------
_CUT_SHORT = """
import os, sys, time
from sandbox import persist
from sandbox.core import Sandbox
from sandbox_world import SUPPORT, mail
core = Sandbox([SUPPORT])
core.deliver(SUPPORT, mail(subject="saved"))
state = persist.StateFile(sys.argv[1])
state.save(core)
core.deliver(SUPPORT, mail(subject="never saved"))
def stall(fd):                     # the new snapshot is written but not yet renamed: the worst moment
    print("mid-write", flush=True)
    time.sleep(60)
os.fsync = stall
state.save(core)
"""


def test_kill_9_in_the_middle_of_a_save_leaves_the_previous_snapshot(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests" / "sandbox")])}
    with subprocess.Popen([sys.executable, "-c", _CUT_SHORT, str(tmp_path)], stdout=subprocess.PIPE,
                          text=True, env=env) as child:
        try:
            assert child.stdout.readline().strip() == "mid-write"
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=10)
    assert len(list(tmp_path.glob(".sandbox-state.json.*.tmp"))) == 1           # the torn save

    restored = Sandbox()
    assert persist.StateFile(tmp_path).load_into(restored)
    subjects = [m.parsed["Subject"] for m in restored.mailbox(SUPPORT).messages.values()]
    assert subjects == ["saved"]
    assert list(tmp_path.glob(".sandbox-state.json.*.tmp")) == []              # cleaned at load


# ---- the command, stopped and restarted --------------------------------------------------------
def _start(state: Path, *extra: str, restored: bool = False) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(SANDBOX + ["--state", str(state), *extra], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=state.parent)
    first = process.stdout.readline()
    assert first.startswith("Gmail sandbox listening on http://127.0.0.1:"), process.stderr.read()
    # The endpoint line and one "wrote" line per file (two mailboxes), then what was restored.
    banner = [process.stdout.readline() for _ in range(5 + restored)]
    assert ("  restored 2 mailbox(es) from " in banner[-1]) is restored, banner
    return process, first.split()[-1]


def _stop(process: subprocess.Popen) -> str:
    """One SIGTERM, and the sandbox must be gone within a few seconds, its state saved."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=5)
    assert process.returncode == 0, err
    return out


def _control(url: str, path: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _gmail(info: dict, url: str):
    if info["type"] == "service_account":      # forwarding settings need domain-wide delegation, as at Google
        creds = service_account.Credentials.from_service_account_info(
            {**info, "token_uri": url + "/token"}, scopes=SHARING, subject=SUPPORT)
    else:
        creds = Credentials.from_authorized_user_info(info).with_token_uri(url + "/token")
    return build("gmail", "v1", credentials=creds, static_discovery=True, client_options={"api_endpoint": url})


def _everything(gmail, start_history_id: str) -> dict:
    """What a user sees of one mailbox, through the real googleapiclient."""
    users = gmail.users()
    ids = [m["id"] for m in users.messages().list(userId="me", includeSpamTrash=True).execute().get("messages", [])]
    settings = users.settings()
    return {"profile": users.getProfile(userId="me").execute(),
            "messages": [users.messages().get(userId="me", id=i, format="raw").execute() for i in ids],
            "labels": users.labels().list(userId="me").execute(),
            "history": users.history().list(userId="me", startHistoryId=start_history_id).execute(),
            "filters": settings.filters().list(userId="me").execute(),
            "forwarding": settings.forwardingAddresses().list(userId="me").execute(),
            "auto_forwarding": settings.getAutoForwarding(userId="me").execute(),
            "drafts": users.drafts().list(userId="me").execute()}


def _build_a_scenario(url: str, gmail, admin) -> None:
    users = gmail.users()
    label = users.labels().create(userId="me", body={"name": "Factures"}).execute()
    sharing = admin.users().settings()
    sharing.forwardingAddresses().create(userId="me", body={"forwardingEmail": TICKETS}).execute()
    sharing.updateAutoForwarding(userId="me", body={
        "enabled": True, "emailAddress": TICKETS, "disposition": "leaveInInbox"}).execute()
    users.settings().filters().create(userId="me", body={
        "criteria": {"from": "bob@example.com"},
        "action": {"addLabelIds": [label["id"]], "forward": TICKETS}}).execute()
    first = _control(url, "/_sandbox/deliver", {"mailbox": SUPPORT, "raw": b64(mail(msgid="<p1@example.com>"))})
    _control(url, "/_sandbox/deliver", {"mailbox": SUPPORT, "raw": b64(mail(subject="Re: Printer broken",
                                                                            in_reply_to="<p1@example.com>"))})
    users.messages().trash(userId="me", id=first["id"]).execute()
    users.messages().send(userId="me", body={"raw": b64(mail(subject="Hi", sender=SUPPORT, to=ALICE))}).execute()
    users.drafts().create(userId="me", body={"message": {"raw": b64(mail(subject="Draft", sender=SUPPORT))}}).execute()


def test_a_restarted_sandbox_resumes_the_scenario_where_it_stopped(tmp_path):
    state = tmp_path / "state"
    process, url = _start(state, "--quota-tier", "legacy", "--seed-demo")
    try:
        old_user, old_alice, old_service_account = (json.loads((state / f"{name}.json").read_text())
                                                    for name in (SUPPORT, ALICE, "service_account"))
        with _gmail(old_user, url) as gmail, _gmail(old_alice, url) as alice, \
                _gmail(old_service_account, url) as admin:
            start, alice_start = (g.users().getProfile(userId="me").execute()["historyId"] for g in (gmail, alice))
            _build_a_scenario(url, gmail, admin)
            before, before_alice = _everything(gmail, start), _everything(alice, alice_start)
    finally:
        _stop(process)
    assert (state / persist.STATE_FILE).exists()

    process, url = _start(state, "--seed-demo", restored=True)      # the demo mail is not seeded twice
    try:
        # The files issued before the restart still work: refresh token, OAuth client, service-account key.
        with _gmail(old_user, url) as gmail, _gmail(old_alice, url) as alice, \
                _gmail(old_service_account, url) as admin:
            assert _everything(gmail, start) == before
            assert _everything(alice, alice_start) == before_alice
            assert admin.users().settings().getAutoForwarding(userId="me").execute()["enabled"] is True
            assert _control(url, "/_sandbox/stats")["tier"] == "legacy"
            # The scenario carries on: the saved filter acts, and new ids follow the saved ones.
            arrived = _control(url, "/_sandbox/deliver", {"mailbox": SUPPORT, "raw": b64(mail(subject="After"))})
            assert arrived["id"] not in {m["id"] for m in before["messages"]}
            message = gmail.users().messages().get(userId="me", id=arrived["id"], format="minimal").execute()
            assert int(message["historyId"]) > int(before["profile"]["historyId"])
            assert before["filters"]["filter"][0]["action"]["addLabelIds"][0] in message["labelIds"]
            assert {r["to"] for r in _control(url, "/_sandbox/forwarded")["forwarded"]} == {TICKETS}
    finally:
        _stop(process)


def test_a_change_is_saved_within_a_second_so_kill_9_keeps_it(tmp_path):
    state = tmp_path / "state"
    process, url = _start(state)
    try:
        arrived = _control(url, "/_sandbox/deliver", {"mailbox": SUPPORT, "raw": b64(mail(subject="Keep me"))})
        deadline = time.monotonic() + 3
        while arrived["id"] not in _saved_message_ids(state) and time.monotonic() < deadline:
            time.sleep(0.05)
        saved_at = (state / persist.STATE_FILE).stat().st_mtime_ns
        _control(url, "/_sandbox/stats")           # reads never cost a save
        time.sleep(0.8)
        assert (state / persist.STATE_FILE).stat().st_mtime_ns == saved_at
    finally:
        process.kill()                             # SIGKILL: no clean stop, no last save
        process.communicate(timeout=5)
    process, url = _start(state, restored=True)
    try:
        assert _control(url, "/_sandbox/stats")["mailboxes"][SUPPORT]["messages"] == 1
    finally:
        _stop(process)


def _saved_message_ids(state: Path) -> set[str]:
    try:
        doc = json.loads((state / persist.STATE_FILE).read_text())
    except FileNotFoundError:
        return set()
    return set(doc["core"]["boxes"][SUPPORT]["attrs"]["messages"])


_SIGTERM_ON_AN_HTTP_THREAD = """
import signal, sys, threading, time
from connector.cli import main
def aim():
    while not any(t.name.startswith("gmail-sandbox:") for t in threading.enumerate()):
        time.sleep(0.05)
    time.sleep(0.3)
    target = next(t for t in threading.enumerate() if t.name.startswith("gmail-sandbox:"))
    signal.pthread_kill(target.ident, signal.SIGTERM)
threading.Thread(target=aim, daemon=True).start()
sys.exit(main(sys.argv[1:]))
"""


def test_one_sigterm_stops_the_sandbox_even_when_a_server_thread_receives_it(tmp_path):
    # The kernel may deliver a process's SIGTERM to any thread; the sandbox once kept serving until a
    # second one. Aim the signal at the HTTP thread on purpose.
    state = tmp_path / "state"
    process = subprocess.Popen([sys.executable, "-c", _SIGTERM_ON_AN_HTTP_THREAD, *SANDBOX[3:], "--state",
                                str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        out, err = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("one SIGTERM did not stop the sandbox within 5 s")
    assert process.returncode == 0, err
    assert "Gmail sandbox stopped." in out
    assert (state / persist.STATE_FILE).exists()          # saved before it went
