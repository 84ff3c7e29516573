"""The issue's example end to end: three external addresses, three verified forwards, three groups."""
from __future__ import annotations

import json
import smtplib

import pytest

from connector.cli import main
from connector.store.db import session_scope
from connector.store.queries import ticket_rows
from jobs.forwarding import check_forwarding, ensure_forwarding
from jobs.sync_inbox import sync_inbox
from tests.forwarding.conftest import ANCIEN, FACTURATION, THREE, support_of


@pytest.fixture
def cli(world, tmp_path, monkeypatch):
    settings = world.runtime.settings
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GMAIL_API_ENDPOINT", settings.gmail_api_endpoint)
    monkeypatch.setenv("INBOUND_DOMAIN", settings.inbound_domain)
    return lambda *argv: main(["--env-file", "/dev/null", *argv])


def tickets(world) -> list[dict]:
    with session_scope(world.runtime.engine) as session:
        return ticket_rows(session)


def test_three_addresses_are_verified_and_their_mail_lands_in_three_groups(world, cli, capsys):
    for external, group in THREE.items():
        assert cli("addresses", "add", external, "--group", group) == 0
        world.connect(external, group, service_account=True)
        assert cli("forwarding", "setup", external, "--service-account") == 0
    world.receiver.wait_idle()
    capsys.readouterr()
    assert cli("forwarding", "status") == 0
    assert capsys.readouterr().out.count("confirmation code ") == 3      # code and link, for the admin
    for external in THREE:
        world.click_confirmation_link(external)
    assert set(check_forwarding(world.runtime).values()) == {"forwarding_active"}
    for external in THREE:
        assert cli("forwarding", "verify", external, "--timeout", "10") == 0
    assert capsys.readouterr().out.count("verified ") == 3
    assert cli("forwarding", "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert [(s["state"], s["outgoing_allowed"]) for s in status] == [("verified", True)] * 3

    for n, external in enumerate(THREE, 1):
        world.sandbox.core.deliver(external, world.customer_mail(external, n))
    world.receiver.wait_idle()
    by_group = {t["group"]: t for t in tickets(world)}
    assert set(by_group) == {"Billing", "Support", "Sales"}
    assert by_group["Billing"]["received_at_address"] == support_of(FACTURATION)

    for external in THREE:                       # the same mail, imported directly from Gmail too
        sync_inbox(world.runtime, external)
    assert len(tickets(world)) == 3, "Message-ID dedupe: no second ticket, verification mails are none"


def test_mail_already_imported_from_gmail_is_no_second_ticket_when_forwarded_later(world):
    world.map(FACTURATION, "Billing")
    world.connect(FACTURATION, "Billing", service_account=True)
    raw = world.customer_mail(FACTURATION, 7)
    world.sandbox.core.deliver(FACTURATION, raw)                 # forwarding not set up yet
    sync_inbox(world.runtime, FACTURATION)
    assert len(tickets(world)) == 1
    with smtplib.SMTP(world.receiver.host, world.receiver.port, timeout=10) as client:
        client.sendmail("client@example.org", [support_of(FACTURATION)], raw)
    world.receiver.wait_idle()
    assert len(tickets(world)) == 1


def test_mail_that_crossed_two_forwards_is_flagged_on_its_ticket(world):
    world.map(FACTURATION, "Billing")
    world.connect(FACTURATION, "Billing", service_account=True)
    ensure_forwarding(world.runtime, FACTURATION)
    world.click_confirmation_link(FACTURATION)
    check_forwarding(world.runtime)
    world.sandbox.core.create_forwarding(ANCIEN, FACTURATION)   # same domain: accepted at once
    box = world.sandbox.core
    box.settings[ANCIEN].create_filter({"criteria": {"to": ANCIEN}, "action": {"forward": FACTURATION}},
                                       box.mailbox(ANCIEN).labels)

    box.deliver(ANCIEN, world.customer_mail(ANCIEN, 9))
    world.receiver.wait_idle()

    [ticket] = tickets(world)
    assert ticket["group"] == "Billing" and "multi_forward" in ticket["flags"]


def test_guided_setup_prints_gmails_steps_and_verify_refuses_before_setup(world, cli, capsys):
    from tests.forwarding.conftest import CONSUMER

    assert cli("addresses", "add", CONSUMER, "--group", "Support") == 0
    world.connect(CONSUMER)
    assert cli("forwarding", "verify", CONSUMER, "--timeout", "1") == 1
    assert "forwarding setup" in capsys.readouterr().err
    assert cli("forwarding", "setup", CONSUMER, "--guided") == 0
    out = capsys.readouterr().out
    assert "awaiting_confirmation (guided)" in out and "  3. Enter particulier@helpdesk.example.com" in out
    assert cli("forwarding", "setup", CONSUMER, "--service-account") == 1
    assert "--guided" in capsys.readouterr().err
