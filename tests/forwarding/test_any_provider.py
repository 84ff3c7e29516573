"""Forwarding from any mail provider, end to end: a provider on 127.0.0.1 forwards (or refuses to), the test
mail leaves through SMTP_RELAY_URL, tickets reach the group, replies go out through the relay DKIM-signed."""
from __future__ import annotations

import base64
import json

import dkim
import pytest
from sqlmodel import select
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.admin.status import build_status
from connector.bootstrap import bootstrap
from connector.cli import main
from connector.inbound.server import InboundServer
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.outbound_models import OutgoingMail
from connector.store.queries import ticket_rows
from connector.store.types import utcnow
from jobs.send_reply import send_pending
from tests.forwarding.provider import Provider, ProviderServer

DOMAIN, PROVIDER = "helpdesk.example.com", "autre-fournisseur.example"
CONTACT, ANCIEN, RELAIS = f"contact@{PROVIDER}", f"ancien@{PROVIDER}", f"relais@{PROVIDER}"
SUPPORT = f"contact@{DOMAIN}"
CLAIRE = "claire@example.org"
SELECTOR = "helpdesk"


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


class Story:
    def __init__(self, runtime, receiver, provider: ProviderServer, run):
        self.runtime, self.receiver, self.provider, self.run = runtime, receiver, provider, run

    def tickets(self) -> list[dict]:
        self.receiver.wait_idle()
        with session_scope(self.runtime.engine) as session:
            return ticket_rows(session)

    def customer_writes(self, to: str, n: int, sender: str = CLAIRE) -> None:
        raw = (f"From: Claire <{sender}>\r\nTo: {to}\r\nSubject: Commande {n}\r\nMessage-ID: <c{n}@example.org>\r\n"
               f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nBonjour, ma commande {n}.\r\n").encode()
        self.provider.send(sender, to, raw)


@pytest.fixture
def story(tmp_path, database_url, dkim_key, monkeypatch, capsys):
    provider = Provider(PROVIDER, ("127.0.0.1", 0), forwards={CONTACT: SUPPORT},
                        mailboxes={CONTACT: [], ANCIEN: [], RELAIS: []})
    with ProviderServer(provider) as server:
        settings = Settings(data_dir=tmp_path / "data", database_url=database_url, inbound_domain=DOMAIN,
                            smtp_relay_url=server.url, dkim_selector=SELECTOR, dkim_private_key_file=str(dkim_key[0]))
        for name, value in {"DATA_DIR": str(settings.data_dir), "DATABASE_URL": database_url, "INBOUND_DOMAIN": DOMAIN,
                            "SMTP_RELAY_URL": server.url, "DKIM_SELECTOR": SELECTOR,
                            "DKIM_PRIVATE_KEY_FILE": str(dkim_key[0])}.items():
            monkeypatch.setenv(name, value)
        runtime = bootstrap(settings)
        with InboundServer(runtime, "127.0.0.1", 0) as receiver:
            provider.receiver = (receiver.host, receiver.port)     # the MX of DOMAIN is this daemon

            def run(*argv) -> tuple[int, str, str]:
                code = main(["--env-file", "/dev/null", *argv])
                out = capsys.readouterr()
                return code, out.out, out.err
            yield Story(runtime, receiver, server, run)
        runtime.engine.dispose()


def dkim_dns(public_txt: bytes):
    """The TXT record a receiver would find at SELECTOR._domainkey.PROVIDER (dkimpy's DNS hook)."""
    wanted = f"{SELECTOR}._domainkey.{PROVIDER}.".encode()
    return lambda name, timeout=5: public_txt if name == wanted else None


def test_a_non_gmail_address_is_added_verified_ticketed_and_answered_through_the_relay_dkim_signed(story, dkim_key):
    assert story.run("addresses", "add", CONTACT, "--group", "Ventes")[0] == 0
    code, out, _ = story.run("forwarding", "setup", CONTACT)                 # no Gmail grant: another provider
    assert code == 0 and "awaiting_confirmation (provider)" in out and f"to {SUPPORT}" in out
    assert f"next: gmail-connector forwarding verify {CONTACT}" in out

    code, out, err = story.run("forwarding", "verify", CONTACT, "--timeout", "10")
    assert code == 0, err
    assert f"test mail sent from {SUPPORT} to {CONTACT} through {story.provider.url}" in out and "verified" in out
    [test_copy] = story.provider.provider.mailboxes[CONTACT]       # the provider got it, and forwarded it
    assert b"X-Helpdesk-Forwarding-Test" in test_copy

    story.customer_writes(CONTACT, 1)
    [ticket] = story.tickets()
    assert (ticket["group"], ticket["received_at_address"], ticket["requester"]["email"]) == ("Ventes", SUPPORT, CLAIRE)
    assert "multi_forward" not in ticket["flags"]

    code, out, err = story.run("reply", str(ticket["id"]), "--body", "Bonjour Claire, c'est expédié.", "--send-now")
    assert code == 0, err
    [(mail_from, rcpts, raw)] = story.provider.provider.outside
    assert (mail_from, rcpts) == (CONTACT, [CLAIRE])
    assert raw.startswith(b"DKIM-Signature:") and f"d={PROVIDER}".encode() in raw.split(b"\r\n\r\n")[0]
    assert dkim.verify(raw, dnsfunc=dkim_dns(dkim_key[1]))
    assert not dkim.verify(raw.replace(b"Bonjour Claire", b"Bonjour Clara"), dnsfunc=dkim_dns(dkim_key[1]))

    code, out, _ = story.run("forwarding", "status", "--json")
    [status] = json.loads(out)
    assert (status["provider"], status["state"], status["outgoing_allowed"]) == ("other", "verified", True)


def test_a_provider_that_refuses_to_forward_fails_the_verification_and_holds_replies(story):
    story.provider.provider.forwarding_allowed = False
    story.run("addresses", "add", CONTACT, "--group", "Ventes")
    assert story.run("forwarding", "setup", CONTACT, "--provider", "other")[0] == 0
    code, _, err = story.run("forwarding", "verify", CONTACT, "--timeout", "1")
    assert code == 1
    assert "did not reach contact@helpdesk.example.com within 1s" in err
    assert f"{CONTACT}'s mail provider forwards it" in err and "Gmail" not in err
    assert len(story.provider.provider.mailboxes[CONTACT]) == 1       # delivered there, never forwarded
    code, out, _ = story.run("forwarding", "status")
    assert "[Ventes, other provider]: failed" in out

    story.provider.provider.forwarding_allowed = True                # the admin fixes the provider...
    story.customer_writes(CONTACT, 2)
    [ticket] = story.tickets()
    story.run("reply", str(ticket["id"]), "--body", "Bonjour", "--send-now")
    assert story.provider.provider.outside == []                     # ...but replies wait for a verification
    with session_scope(story.runtime.engine) as session:
        [reply] = session.exec(select(OutgoingMail)).all()
        assert reply.state == "queued" and "held until its forwarding is verified" in reply.last_error
        due = reply.next_attempt_at
    assert story.run("forwarding", "verify", CONTACT, "--timeout", "10")[0] == 0
    assert send_pending(story.runtime, now=lambda: due).sent == 1
    assert [rcpts for _, rcpts, _ in story.provider.provider.outside] == [[CLAIRE]]


def test_a_relay_that_refuses_the_test_mail_fails_with_its_words(story):
    unknown = f"inconnu@{PROVIDER}"
    story.run("addresses", "add", unknown, "--group", "Ventes", "--support-address", f"inconnu@{DOMAIN}")
    story.run("forwarding", "setup", unknown)
    code, _, err = story.run("forwarding", "verify", unknown, "--timeout", "1")
    assert code == 1 and "the relay did not take the test mail" in err and "550" in err
    code, out, _ = story.run("forwarding", "status", "--json")
    assert json.loads(out)[0]["state"] == "failed"


def test_two_hops_are_flagged_on_tickets_shown_on_the_address_and_fail_the_verification(story):
    story.run("addresses", "add", CONTACT, "--group", "Ventes")
    story.run("forwarding", "setup", CONTACT)
    assert story.run("forwarding", "verify", CONTACT, "--timeout", "10")[0] == 0
    story.provider.provider.forwards[ANCIEN] = CONTACT               # an old address forwarded to the new one
    story.customer_writes(ANCIEN, 3)
    [ticket] = story.tickets()
    assert "multi_forward" in ticket["flags"] and ticket["group"] == "Ventes"
    code, out, _ = story.run("forwarding", "status")
    assert "multi-hop forwarding" in out and "confirm who the requester is" in out
    code, out, _ = story.run("forwarding", "status", "--json")
    assert json.loads(out)[0]["multi_forward"]["tickets"] == 1
    with session_scope(story.runtime.engine) as session:                  # the admin status and dashboard too
        [shown] = build_status(session, utcnow())["external_addresses"]
    assert shown["provider"] == "other" and shown["multi_forward"]["tickets"] == 1
    assert "confirm who the requester is" in shown["multi_forward"]["reason"]

    story.provider.provider.forwards.update({CONTACT: RELAIS, RELAIS: SUPPORT})   # now through another mailbox
    code, _, err = story.run("forwarding", "verify", CONTACT, "--timeout", "10")
    assert code == 1 and "multi-hop forwarding detected: the test mail crossed 2 forwards" in err
