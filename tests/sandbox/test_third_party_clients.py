"""Gmail libraries from PyPI that nobody here wrote run unchanged against the sandbox, in their own process."""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import select
import socket
import socketserver
import ssl
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox_world import HELPDESK_DOMAIN, SUPPORT, mail
from sandbox.seed import sample_mail

# Each library with what it needs beyond the project's own Google libraries (pip --no-deps keeps
# the project's google-api-python-client in use and the install to a few seconds).
# simplegmail also gets PySocks, without which httplib2 ignores https_proxy (see google_front).
PACKAGES = {"simplegmail": ["simplegmail==5.0.0", "beautifulsoup4", "soupsieve", "python-dateutil", "six", "lxml",
                            "PySocks"],
            "ezgmail": ["ezgmail==2026.4.28", "oauth2client", "rsa", "six"]}
CUSTOMER = f"customer@{HELPDESK_DOMAIN}"
COMMON = f"""
    import json, os
    from google.oauth2.credentials import Credentials
    info = json.load(open(os.environ["TOKEN_FILE"]))
    # google-auth always replaces a stored token_uri with Google's; the README's with_token_uri sets it.
    creds = Credentials.from_authorized_user_info(info).with_token_uri(info["token_uri"])
    me, customer, outbox = info["account"], "{CUSTOMER}", os.environ["OUTBOX"]
    open(os.path.join(outbox, "notes.txt"), "w").write("Steps to reproduce")
"""
# simplegmail builds its own client on Google's URL; its README documents only `credentials=`.
SIMPLEGMAIL = COMMON + """
    from simplegmail import Gmail
    gmail = Gmail(credentials=creds)
    [msg] = gmail.get_messages(query="has:attachment", attachments="download")
    assert msg.attachments[0].data.startswith(b"%PDF")
    label = gmail.create_label("Helpdesk/Done")
    msg.add_label(label)
    msg.remove_label(label)
    msg.mark_as_read()
    msg.trash()
    draft = gmail.create_draft(sender=me, to=customer, subject="Drafted by simplegmail", msg_plain="Later")
    sent = gmail.send_message(sender=me, to=customer, subject="Sent by simplegmail", msg_plain="Hello",
                              attachments=[os.path.join(outbox, "notes.txt")])
    print(json.dumps({"trashed": [msg.id], "draft": draft["id"], "sent": sent.id}))
"""
# ezgmail's init() documents SERVICE_GMAIL (with EMAIL_ADDRESS, LOGGED_IN) as what every call uses.
EZGMAIL = COMMON + """
    from googleapiclient.discovery import build
    import ezgmail
    ezgmail.SERVICE_GMAIL = build("gmail", "v1", credentials=creds,
                                  client_options={"api_endpoint": os.environ["SANDBOX_URL"]})
    ezgmail.EMAIL_ADDRESS, ezgmail.LOGGED_IN = me, True
    [thread] = ezgmail.search("has:attachment")
    msg = thread.messages[0]
    msg.downloadAttachment(msg.attachments[0], outbox)
    msg.addLabel("STARRED")
    msg.removeLabel("STARRED")
    thread.addLabel("IMPORTANT")
    thread.markAsRead()
    thread.trash()
    ezgmail.send(customer, "Sent by ezgmail", "Hello", attachments=[os.path.join(outbox, "notes.txt")])
    print(json.dumps({"trashed": [m.id for m in thread.messages], "draft": None, "sent": None}))
"""
SCRIPTS = {"simplegmail": SIMPLEGMAIL, "ezgmail": EZGMAIL}
CALLED = {"simplegmail": {"messages.list", "messages.get", "messages.attachments.get", "labels.create",
                          "messages.modify", "messages.trash", "drafts.create", "messages.send"},
          "ezgmail": {"threads.list", "threads.get", "messages.attachments.get", "messages.modify",
                      "threads.modify", "threads.trash", "messages.send"}}


def _install(library: str, target: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    for step in (["download", "--no-deps", "--dest", str(target / "probe"), PACKAGES[library][0]],
                 ["install", "--no-deps", "--target", str(target), *PACKAGES[library]]):
        try:
            done = subprocess.run(pip + step, capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired:
            pytest.skip(f"pip {step[0]} of {library} from PyPI took over 240 s")
        if done.returncode:
            pytest.skip(f"pip {step[0]} of {library} from PyPI failed: {done.stderr.strip()[-300:]}")


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signs for Google's API host; only the client trusts the CA."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def issue(subject: str, public, ca: bool):
        builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name("Sandbox test CA"))
                   .public_key(public).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(hours=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    paths = folder / "ca.pem", folder / "host.pem", folder / "host.key"
    paths[0].write_bytes(issue("Sandbox test CA", ca_key.public_key(), True).public_bytes(pem))
    paths[1].write_bytes(issue("gmail.googleapis.com", key.public_key(), False).public_bytes(pem))
    paths[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class _Tunnel(socketserver.BaseRequestHandler):
    """One CONNECT: answer 200, speak TLS as gmail.googleapis.com, relay the plain bytes to the sandbox."""

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        # A client hanging up mid-record is the end of a tunnel, not a failure of the test.
        with contextlib.suppress(OSError), self.server.tls.wrap_socket(self.request, server_side=True) as client, \
                socket.create_connection(("127.0.0.1", self.server.upstream)) as upstream:
            # One thread per tunnel: an SSL socket must not be read and written from two threads.
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 30)
                for source in ready or [None]:
                    data = source.recv(65536) if source is not None else b""
                    if not data:
                        return
                    sink = upstream if source is client else client
                    sink.sendall(data)
                    while source is client and client.pending():
                        upstream.sendall(client.recv(client.pending()))


@pytest.fixture
def google_front(sandbox, tmp_path):
    """An HTTPS proxy that answers for Google's API host: a library's own client reaches the sandbox."""
    ca, cert, key = _certificates(tmp_path)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Tunnel)
    server.daemon_threads = True
    server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.tls.load_cert_chain(cert, key)
    server.upstream = sandbox.port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"https_proxy": proxy, "HTTPS_PROXY": proxy, "HTTPLIB2_CA_CERTS": str(ca),
           "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"}
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("library", ["simplegmail", "ezgmail"])
def test_a_third_party_library_lists_reads_labels_trashes_drafts_and_sends(library, sandbox, google_front,
                                                                           tmp_path, smtp_sink):
    _install(library, tmp_path / "site")
    asked = sandbox.core.deliver(SUPPORT, sample_mail("attachment"))
    sandbox.core.deliver(SUPPORT, mail(subject="Unrelated"))
    answers = []
    sandbox.app.observers.append(lambda name, response: answers.append((name, response.status)))
    (tmp_path / "outbox").mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "SANDBOX_URL": sandbox.url,
           "TOKEN_FILE": str(tmp_path / f"{SUPPORT}.json"), "OUTBOX": str(tmp_path / "outbox"),
           **(google_front if library == "simplegmail" else {})}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPTS[library])], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [a for a in answers if a[1] >= 400] == []
    assert CALLED[library] <= {name for name, _ in answers}
    report, box = json.loads(done.stdout.splitlines()[-1]), sandbox.core.mailbox(SUPPORT)
    assert report["trashed"] == [asked] and "TRASH" in box.messages[asked].labels
    assert "UNREAD" not in box.messages[asked].labels
    assert report["draft"] is None or report["draft"] in box.drafts
    assert [e.rcpt_tos for e in smtp_sink.envelopes] == [[CUSTOMER]]
