"""Forwarded Gmail addresses are connected for their settings only: never synced, 0 read calls, and a
switch between direct reading and forwarding that loses and duplicates nothing."""
from __future__ import annotations

import json
import urllib.request
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from connector.cli import main
from connector.forwarding import states
from connector.gmail.port import InsufficientScope
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox
from connector.store.queries import ticket_rows
from connector.store.suspended import suspended_rows
from jobs.forwarding import check_forwarding, ensure_forwarding, recheck_forwarding_daily
from jobs.forwarding_mode import ModeError, switch_mode
from jobs.forwarding_verify import await_verification, start_verification
from jobs.sync_inbox import sync_inbox
from connector.outbound.senders import Outbound
from connector.outbound.smtp_relay import RelayConfig
from connector.store.outbound import queue_reply
from jobs.send_reply import send_pending
from oauth.scopes import FORWARDING_SCOPES
from tests.forwarding.provider import Provider, ProviderServer
from tests.oauth.consent_driver import Browser
from tests.forwarding.conftest import AIDE, CONSUMER, FACTURATION, VENTES, support_of

# Every Gmail method that reads mail; a forwarded address must never see one.
READS = ("messages.", "history.", "threads.", "getProfile", "watch")


@pytest.fixture
def cli(world, monkeypatch, capsys):
    settings = world.runtime.settings
    for name, value in {"DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,
                        "GMAIL_API_ENDPOINT": settings.gmail_api_endpoint, "INBOUND_DOMAIN": settings.inbound_domain}.items():
        monkeypatch.setenv(name, value)

    def run(*argv) -> tuple[int, str, str]:
        code = main(["--env-file", "/dev/null", *argv])
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


def stats(world, address: str) -> dict:
    with urllib.request.urlopen(world.sandbox.url + "/_sandbox/stats", timeout=10) as answer:
        return json.load(answer)["mailboxes"][address]


def tickets(world) -> list[dict]:
    world.receiver.wait_idle()
    with session_scope(world.runtime.engine) as session:
        return ticket_rows(session)


def test_a_forwarded_workspace_address_is_never_read_and_its_50_mails_become_50_tickets(world, cli):
    key = Path(world.sandbox.state_dir) / "service_account.json"
    assert cli("auth", "add-service-account", str(key), "--domain", "masociete.com")[0] == 0
    assert cli("addresses", "add", FACTURATION, "--group", "Billing")[0] == 0
    code, out, err = cli("forwarding", "setup", FACTURATION, "--service-account")
    assert code == 0, err
    assert "for its forwarding settings only" in out and "awaiting_confirmation (service_account)" in out
    with session_scope(world.runtime.engine) as session:
        assert get_inbox(session, FACTURATION).mode == "forwarding"
    world.click_confirmation_link(FACTURATION)
    assert check_forwarding(world.runtime) == {FACTURATION: states.ACTIVE}
    world.connect(AIDE, "Support")                   # an inbox of ours sends the test mail through Gmail
    code, out, err = cli("forwarding", "verify", FACTURATION, "--timeout", "10")
    assert code == 0 and f"from {AIDE} to {FACTURATION} through gmail" in out, err
    before = stats(world, FACTURATION)

    senders = ["ana@client.example"] * 20 + ["bo@client.example"] * 15 + ["chloe@client.example"] * 15
    for n, sender in enumerate(senders):
        world.sandbox.core.deliver(FACTURATION, world.customer_mail(FACTURATION, n, sender))
    world.sandbox.core.deliver(FACTURATION, world.customer_mail(FACTURATION, 99, senders[0]))   # a 21st from Ana
    assert cli("sync", "--once")[0] == 0
    assert sync_inbox(world.runtime, FACTURATION, force=True).mode == "skipped"

    made = tickets(world)
    assert len(made) == 50 and {t["group"] for t in made} == {"Billing"}
    with session_scope(world.runtime.engine) as session:
        [held] = suspended_rows(session)
    assert held["kind"] == "loop" and held["from"] == senders[0]
    after = stats(world, FACTURATION)
    assert after["units_total"] == before["units_total"], "0 quota units per forwarded message"
    assert not [m for m in after["calls"] if m.startswith(READS)], after["calls"]
    gateway = world.runtime.open_gateway(FACTURATION)
    try:
        with pytest.raises(InsufficientScope):
            gateway.profile()                          # the grant itself cannot read
    finally:
        gateway.close()

    code, out, _ = cli("inboxes", "list")
    table, _, forwarded = out.partition("Forwarded external addresses")
    assert AIDE in table and FACTURATION not in table and FACTURATION in forwarded and "verified" in forwarded
    code, out, _ = cli("status")
    table, _, forwarded = out.partition("Forwarded external addresses:")
    assert "2 inboxes (1 of them forwarded, settings only)" in table and FACTURATION not in table
    assert f"{FACTURATION:<36} verified" in forwarded and "never synced" in forwarded
    code, out, _ = cli("auth", "status")
    [line] = [line for line in out.splitlines() if line.startswith(FACTURATION)]
    assert "settings only (forwarded, never read)" in line and "missing" not in line   # left out on purpose

    with session_scope(world.runtime.engine) as session:      # an agent answers: its grant cannot send,
        queue_reply(session, made[0]["id"], "Bonjour", attachments_dir=world.runtime.settings.attachments_dir)
    relay = Provider("relay.example", ("127.0.0.1", 0))        # so it leaves through the relay
    with ProviderServer(relay) as server:
        assert send_pending(world.runtime, outbound=Outbound(relay=RelayConfig.from_url(server.url))).sent == 1
    [(mail_from, rcpts, _)] = relay.outside
    assert (mail_from, rcpts) == (FACTURATION, [made[0]["requester"]["email"]])
    assert "messages.send" not in stats(world, FACTURATION)["calls"]

    assert recheck_forwarding_daily(world.runtime) == {FACTURATION: states.VERIFIED}
    world.sandbox.core.settings[FACTURATION].filters.clear()       # someone deletes the filter in Gmail
    assert recheck_forwarding_daily(world.runtime) == {FACTURATION: states.FAILED}
    assert "filter" in world.row(FACTURATION).failure_reason


def test_consumer_gmail_guided_end_to_end_the_person_adds_the_address_in_gmails_settings(world, cli, monkeypatch):
    person = Browser(CONSUMER)
    monkeypatch.setattr(webbrowser, "open", person.open)
    assert cli("addresses", "add", CONSUMER, "--group", "Support")[0] == 0
    secrets = Path(world.sandbox.state_dir) / "client_secret.json"
    code, out, err = cli("inboxes", "add", CONSUMER, "--client-secrets", str(secrets), "--forwarding")
    person.join()
    assert code == 0 and "settings only" in out, err
    asked = parse_qs(urlsplit(person.opened[0]).query)["scope"][0].split()
    assert sorted(asked) == sorted(FORWARDING_SCOPES)               # the consent asked for nothing else
    code, out, _ = cli("forwarding", "setup", CONSUMER, "--guided")
    assert code == 0 and "Add a forwarding address" in out and world.sandbox.core.settings[CONSUMER].forwarding == {}

    request = urllib.request.Request(world.sandbox.url + "/_sandbox/forwarding-addresses", method="POST",
                                     data=json.dumps({"mailbox": CONSUMER, "email": support_of(CONSUMER)}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:     # the person, in Gmail's settings page
        assert json.load(answer)["verificationStatus"] == "pending"
    world.receiver.wait_idle()
    code, out, _ = cli("forwarding", "status")
    assert "confirmation code" in out and "/_sandbox/forwarding/confirm" in out
    world.click_confirmation_link(CONSUMER)                            # the link the status showed
    assert check_forwarding(world.runtime) == {CONSUMER: states.ACTIVE}
    [rule] = world.filters(CONSUMER)
    assert rule == {**rule, "criteria": {"query": f"deliveredto:{CONSUMER}"}, "action": {"forward": support_of(CONSUMER)}}
    world.connect(AIDE)
    assert cli("forwarding", "verify", CONSUMER, "--timeout", "10")[0] == 0
    world.sandbox.core.deliver(CONSUMER, world.customer_mail(CONSUMER, 1))
    [ticket] = tickets(world)
    assert (ticket["group"], ticket["received_at_address"]) == ("Support", support_of(CONSUMER))
    assert not [m for m in stats(world, CONSUMER)["calls"] if m.startswith(READS)]


def test_switching_from_direct_reading_to_forwarding_and_back_loses_and_duplicates_nothing(world):
    world.map(VENTES, "Sales")
    world.connect(VENTES, "Sales", service_account=True)
    world.connect(AIDE)
    box = world.sandbox.core
    box.deliver(VENTES, world.customer_mail(VENTES, 1))
    assert sync_inbox(world.runtime, VENTES).imported == 1
    with pytest.raises(ModeError, match="not verified"):
        switch_mode(world.runtime, VENTES, "forwarding")
    box.deliver(VENTES, world.customer_mail(VENTES, 2))              # before any filter: in Gmail only
    ensure_forwarding(world.runtime, VENTES)
    world.click_confirmation_link(VENTES)
    check_forwarding(world.runtime)
    token = start_verification(world.runtime, VENTES).token
    assert await_verification(world.runtime, VENTES, token, 10).state == states.VERIFIED
    box.deliver(VENTES, world.customer_mail(VENTES, 3))              # both in Gmail and forwarded
    assert len(tickets(world)) == 2                                   # 1, and 3 by SMTP; 2 waits for a pass

    # Mail 2, 3 (a duplicate, skipped) and the test mail (never a ticket) are read by the last pass.
    assert "last pass read 3 message(s)" in str(switch_mode(world.runtime, VENTES, "forwarding"))
    assert len(tickets(world)) == 3
    reads = stats(world, VENTES)["calls"].get("messages.get", 0)
    box.deliver(VENTES, world.customer_mail(VENTES, 4))              # forwarded only
    assert sync_inbox(world.runtime, VENTES).mode == "skipped"
    assert len(tickets(world)) == 4 and stats(world, VENTES)["calls"].get("messages.get", 0) == reads

    assert "history" in str(switch_mode(world.runtime, VENTES, "direct"))
    box.deliver(VENTES, world.customer_mail(VENTES, 5))              # read again, and still forwarded
    report = sync_inbox(world.runtime, VENTES)
    assert report.ok and report.listed == 1, "the cursor starts at the switch: mail 4 is not read again"
    subjects = sorted(t["subject"] for t in tickets(world))
    assert subjects == [f"Question {n}" for n in range(1, 6)]


def test_a_daemon_never_leases_a_forwarded_address_and_lets_go_of_one_switched_to_forwarding(world):
    from jobs.leases import LeaseKeeper

    world.connect(AIDE)
    world.connect(VENTES, service_account=True)
    keeper = LeaseKeeper(world.runtime.engine, ttl_seconds=60)
    assert sorted(keeper.round().held) == [AIDE, VENTES]
    with session_scope(world.runtime.engine) as session:
        get_inbox(session, VENTES).mode = "forwarding"         # as set-mode leaves it
    assert list(keeper.round().held) == [AIDE]
    assert list(LeaseKeeper(world.runtime.engine, ttl_seconds=60).round().held) == []   # AIDE is taken


def test_an_imported_settings_only_grant_of_another_account_is_refused(world, cli):
    grant = world.sandbox.write_authorized_user(AIDE, scopes=FORWARDING_SCOPES, name="aide-settings.json")
    code, _, err = cli("inboxes", "add", CONSUMER, "--credentials", str(grant), "--forwarding")
    assert code != 0 and f"the account that consented is {AIDE}, not {CONSUMER}" in err
    grant = world.sandbox.write_authorized_user(CONSUMER, scopes=FORWARDING_SCOPES, name="consumer-settings.json")
    assert cli("inboxes", "add", CONSUMER, "--credentials", str(grant), "--forwarding")[0] == 0
