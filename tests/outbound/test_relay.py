"""Replies from external addresses through an SMTP relay: a real aiosmtpd on 127.0.0.1, TLS, AUTH, DKIM."""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import ssl
from email import message_from_bytes
from email.policy import default

import dkim
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connector.bootstrap import bootstrap
from connector.outbound.dkim_sign import DkimKey
from connector.outbound.smtp_relay import RelayConfig
from connector.settings import Settings
from connector.store.addresses import add_external_address, get_external, touch
from connector.store.db import session_scope
from connector.store.models import Ticket
from connector.store.outbound import queue_reply
from jobs.send_reply import Outbound, send_pending
from tests.outbound.conftest import LATER, free_port, outgoing, ticket

EXTERNAL, SUPPORT_ADDRESS, CLAIRE = "facturation@masociete.com", "facturation@helpdesk.example", "claire@example.org"
PASSWORD = "s3cret-relay-pw"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: the server's context and a client context trusting it."""
    key, name = _key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(_pem(key))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return server, ssl.create_default_context(cafile=str(folder / "cert.pem"))


@pytest.fixture(scope="module")
def dkim_key():
    key = _key()
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return DkimKey("helpdesk", _pem(key)), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


class Relay:
    """aiosmtpd keeping every envelope and login; `answer` replaces 250 to simulate a refusing relay."""

    def __init__(self) -> None:
        self.envelopes, self.logins, self.answer = [], [], "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.answer.startswith("250"):
            self.envelopes.append(envelope)
        return self.answer

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=auth_data.password.decode() == PASSWORD, handled=False)


def _start(relay: Relay, **tls_options):
    # aiosmtpd's own TLS check only knows STARTTLS; with implicit TLS the whole session is encrypted.
    controller = Controller(relay, hostname="127.0.0.1", port=free_port(), authenticator=relay.authenticate,
                            auth_require_tls="ssl_context" not in tls_options, **tls_options)
    controller.start()
    return controller


@pytest.fixture
def starttls_relay(tls):
    relay = Relay()
    controller = _start(relay, tls_context=tls[0], require_starttls=True)
    relay.port = controller.port
    yield relay
    controller.stop()


@pytest.fixture
def runtime(tmp_path):
    runtime = bootstrap(Settings(data_dir=tmp_path / "data"))
    yield runtime
    runtime.engine.dispose()


def _forwarded_ticket(runtime, verified: bool = True) -> int:
    with session_scope(runtime.engine) as session:
        row = add_external_address(session, EXTERNAL, SUPPORT_ADDRESS, "Billing")
        if verified:
            touch(row, state="verified")
        ticket = Ticket(subject="Facture 2026-0042", status="open", requester_email=CLAIRE,
                        received_at_address=SUPPORT_ADDRESS)
        session.add(ticket)
        session.flush()
        return ticket.id


def _queue(runtime, ticket_id: int) -> int:
    with session_scope(runtime.engine) as session:
        return queue_reply(session, ticket_id, "Bonjour Claire, voici la facture corrigée.",
                           attachments_dir=runtime.settings.attachments_dir).id


def _outbound(url: str, tls, dkim_key=None) -> Outbound:
    return Outbound(relay=RelayConfig.from_url(url), dkim=dkim_key, ssl_context=tls[1])


def test_reply_from_an_external_address_goes_through_the_relay_dkim_signed(runtime, starttls_relay, tls, dkim_key):
    ticket_id = _forwarded_ticket(runtime)
    outgoing_id = _queue(runtime, ticket_id)
    url = f"smtp://agent:{PASSWORD}@127.0.0.1:{starttls_relay.port}"

    report = send_pending(runtime, outbound=_outbound(url, tls, dkim_key[0]))

    assert (report.sent, report.errors) == (1, [])
    [envelope] = starttls_relay.envelopes
    assert starttls_relay.logins == ["agent"], "authenticated after STARTTLS"
    assert (envelope.mail_from, envelope.rcpt_tos) == (EXTERNAL, [CLAIRE])
    mail = message_from_bytes(envelope.original_content, policy=default)
    assert mail["From"] == EXTERNAL and mail["Subject"] == f"Re: Facture 2026-0042 [#{ticket_id}]"
    assert "d=masociete.com" in mail["DKIM-Signature"] and "s=helpdesk" in mail["DKIM-Signature"]

    def dns(name, timeout=5):
        return dkim_key[1] if name == b"helpdesk._domainkey.masociete.com." else None

    assert dkim.verify(envelope.original_content, dnsfunc=dns), "the signature verifies with the published key"
    sent = outgoing(runtime, outgoing_id)
    assert (sent.state, sent.transport, sent.sent_gmail_id) == ("sent", "smtp", None)
    assert ticket(runtime, ticket_id).status == "pending"


def test_unverified_external_address_waits_until_verified(runtime, starttls_relay, tls):
    ticket_id = _forwarded_ticket(runtime, verified=False)
    outgoing_id = _queue(runtime, ticket_id)
    outbound = _outbound(f"smtp://agent:{PASSWORD}@127.0.0.1:{starttls_relay.port}", tls)

    report = send_pending(runtime, outbound=outbound)

    assert report.retrying == 1 and starttls_relay.envelopes == []
    held = outgoing(runtime, outgoing_id)
    assert held.state == "queued" and "held until its forwarding is verified" in held.last_error
    with session_scope(runtime.engine) as session:
        touch(get_external(session, EXTERNAL), state="verified")
    assert send_pending(runtime, now=lambda: dt.datetime.now(dt.timezone.utc) + LATER, outbound=outbound).sent == 1
    assert len(starttls_relay.envelopes) == 1


@pytest.mark.parametrize("password, answer, expected", [
    ("wrong-password", "250 OK", "refused the login: 535"),
    (PASSWORD, "550 5.7.1 Relaying denied", "answered 550 5.7.1 Relaying denied"),
])
def test_a_refusing_relay_fails_the_reply_without_leaking_the_password(runtime, starttls_relay, tls,
                                                                       password, answer, expected):
    starttls_relay.answer = answer
    outgoing_id = _queue(runtime, _forwarded_ticket(runtime))

    report = send_pending(runtime, outbound=_outbound(f"smtp://agent:{password}@127.0.0.1:{starttls_relay.port}", tls))

    failed = outgoing(runtime, outgoing_id)
    assert report.failed == 1 and failed.state == "failed" and expected in failed.last_error
    assert password not in failed.last_error and password not in " ".join(report.errors)


def test_a_temporary_refusal_is_retried(runtime, starttls_relay, tls):
    starttls_relay.answer = "451 4.3.0 Try again later"
    outgoing_id = _queue(runtime, _forwarded_ticket(runtime))
    send_pending(runtime, outbound=_outbound(f"smtp://agent:{PASSWORD}@127.0.0.1:{starttls_relay.port}", tls))
    assert outgoing(runtime, outgoing_id).state == "queued"


def test_implicit_tls_relay(runtime, tls):
    relay = Relay()
    controller = _start(relay, ssl_context=tls[0])
    try:
        _queue(runtime, _forwarded_ticket(runtime))
        url = f"smtps://agent:{PASSWORD}@127.0.0.1:{controller.port}"
        assert send_pending(runtime, outbound=_outbound(url, tls)).sent == 1
    finally:
        controller.stop()
    assert relay.logins == ["agent"] and len(relay.envelopes) == 1


def test_a_relay_without_starttls_never_gets_the_password(runtime, tls):
    relay = Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        outgoing_id = _queue(runtime, _forwarded_ticket(runtime))
        send_pending(runtime, outbound=_outbound(f"smtp://agent:{PASSWORD}@127.0.0.1:{controller.port}", tls))
    finally:
        controller.stop()
    assert relay.envelopes == [] and "offers no STARTTLS" in outgoing(runtime, outgoing_id).last_error


def test_relay_url_parsing_keeps_the_password_out_of_sight():
    config = RelayConfig.from_url("smtp://agent%40corp:p%40ss@relay.example.com")
    assert (config.scheme, config.host, config.port, config.username, config.password) == (
        "smtp", "relay.example.com", 587, "agent@corp", "p@ss")
    assert RelayConfig.from_url("smtps://relay.example.com").port == 465
    assert "p@ss" not in repr(config) and "p@ss" not in config.describe()
    with pytest.raises(ValueError, match="SMTP_RELAY_URL"):
        RelayConfig.from_url("http://relay.example.com")


def test_without_a_relay_a_reply_from_an_address_gmail_cannot_send_fails_clearly(runtime):
    outgoing_id = _queue(runtime, _forwarded_ticket(runtime))
    assert send_pending(runtime, outbound=Outbound()).failed == 1
    assert "SMTP_RELAY_URL is not set" in outgoing(runtime, outgoing_id).last_error
