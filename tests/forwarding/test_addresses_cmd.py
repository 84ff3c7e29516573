"""`addresses add/list/remove` through main([...]), and the store rules behind them."""
from __future__ import annotations

import json

import pytest

from connector.cli import main
from connector.store.addresses import (AddressExists, add_external_address, find_address, is_verified,
                                       outgoing_refusal, support_routes)
from connector.store.db import make_engine, session_scope, upgrade


@pytest.fixture
def env(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("INBOUND_DOMAIN", "helpdesk.example.com")
    return ["--env-file", "/dev/null"]


def test_add_defaults_the_support_address_to_the_inbound_domain_and_lists_it(env, capsys):
    assert main(env + ["addresses", "add", "Facturation@masociete.com", "--group", "Billing"]) == 0
    assert "facturation@helpdesk.example.com" in capsys.readouterr().out
    assert main(env + ["addresses", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["external_address"] == "facturation@masociete.com"
    assert row["support_address"] == "facturation@helpdesk.example.com"
    assert (row["group"], row["state"], row["outgoing_allowed"]) == ("Billing", "not_configured", False)


def test_add_needs_an_inbound_domain_or_an_explicit_support_address(env, monkeypatch, capsys):
    monkeypatch.delenv("INBOUND_DOMAIN")
    assert main(env + ["addresses", "add", "aide@masociete.com", "--group", "Support"]) == 1
    assert "INBOUND_DOMAIN is empty" in capsys.readouterr().err
    assert main(env + ["addresses", "add", "aide@masociete.com", "--group", "Support",
                       "--support-address", "aide@desk.example.org"]) == 0
    assert main(env + ["addresses", "list"]) == 0
    assert "aide@desk.example.org" in capsys.readouterr().out


def test_the_mapping_is_one_to_one_and_remove_forgets_it(env, capsys):
    assert main(env + ["addresses", "add", "ventes@masociete.com", "--group", "Sales"]) == 0
    again = ["addresses", "add", "autre@masociete.com", "--group", "Sales",
             "--support-address", "ventes@helpdesk.example.com"]
    assert main(env + again) == 1
    assert "already mapped" in capsys.readouterr().err
    assert main(env + ["addresses", "remove", "ventes@masociete.com"]) == 0
    assert main(env + ["addresses", "remove", "ventes@masociete.com"]) == 1
    assert main(env + ["addresses", "list"]) == 0
    assert "no external addresses" in capsys.readouterr().out


def test_outgoing_gate_opens_only_when_verified(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        row = add_external_address(session, "aide@masociete.com", "aide@helpdesk.example.com", "Support")
        with pytest.raises(AddressExists):
            add_external_address(session, "AIDE@masociete.com", "other@helpdesk.example.com", "Support")
        assert support_routes(session) == {"aide@helpdesk.example.com": "Support"}
        assert find_address(session, "aide@helpdesk.example.com") is row
        assert not is_verified(session, "aide@masociete.com")
        assert "forwarding verify aide@masociete.com" in outgoing_refusal(session, "aide@masociete.com")
        row.state = "verified"
        assert is_verified(session, "aide@masociete.com") and outgoing_refusal(session, "aide@masociete.com") is None
        assert not is_verified(session, "someone@else.example")
    engine.dispose()
