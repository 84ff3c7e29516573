"""What a slow, greedy or odd client can do to the receiver: real SMTP conversations on 127.0.0.1."""
from __future__ import annotations

import base64
import os
import random
import select
import smtplib
import socket
import stat
import time
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select as query

from connector.bootstrap import bootstrap
from connector.inbound.envelope import envelope_text
from connector.inbound.server import InboundServer
from connector.inbound.session import SessionLimits
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.models import RawMail
from tests.inbound.conftest import BILLING, DOMAIN, MAX_BYTES, map_addresses, wait_until

MIB = 1024 * 1024
SENDER = "client@example.org"
MAIL = b"From: <client@example.org>\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nHello.\r\n"


class Conversation:
    """One SMTP client on a raw socket, so a test can send bytes smtplib never would, or slowly."""

    def __init__(self, port: int, source: str | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(source, 0) if source else None)
        self.reader = self.sock.makefile("rb")

    def reply(self) -> tuple[int, bytes]:
        lines = [self.reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(self.reader.readline())
        return int(lines[-1][:3] or 0), b"".join(lines)

    def command(self, line: bytes) -> int:
        self.sock.sendall(line + b"\r\n")
        return self.reply()[0]

    def open_transaction(self, sender: bytes = SENDER.encode(), options: bytes = b"") -> None:
        """EHLO, MAIL, RCPT and DATA, each accepted."""
        assert self.reply()[0] == 220
        assert self.command(b"EHLO client.example.org") == 250
        assert self.command(b"MAIL FROM:<" + sender + b">" + options) == 250
        assert self.command(f"RCPT TO:<{BILLING}>".encode()) == 250
        assert self.command(b"DATA") == 354

    def closed_by_server(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def stored(runtime) -> list[RawMail]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(query(RawMail).order_by(RawMail.id)))


def test_limits_come_from_the_arguments_then_the_settings_then_the_defaults():
    settings = SimpleNamespace(smtp_max_connections=7, smtp_data_idle_seconds=5)
    assert SessionLimits.from_settings(settings, data_idle_seconds=2, command_seconds=None) == \
        SessionLimits(data_idle_seconds=2, command_seconds=30, max_connections=7, max_per_peer=20)
    with pytest.raises(ValueError, match="command_seconds"):
        SessionLimits(command_seconds=0)


def test_data_that_keeps_flowing_is_accepted_however_long_it_takes(runtime):
    with InboundServer(runtime, "127.0.0.1", 0, data_idle_seconds=1, command_seconds=1) as receiver:
        client = Conversation(receiver.port)
        client.open_transaction()
        client.sock.sendall(MAIL)
        started = time.monotonic()
        for n in range(10):                                  # 3 s of DATA, never 1 s of silence
            client.sock.sendall(f"line {n}\r\n".encode())
            time.sleep(0.3)
        client.sock.sendall(b".\r\n")
        assert client.reply()[0] == 250 and time.monotonic() - started > 2.9
        client.close()
    [row] = stored(runtime)
    assert row.raw == MAIL + b"".join(f"line {n}\r\n".encode() for n in range(10))


def test_a_client_silent_in_the_middle_of_data_is_dropped_after_the_idle_timeout(runtime):
    with InboundServer(runtime, "127.0.0.1", 0, data_idle_seconds=1, command_seconds=5) as receiver:
        client = Conversation(receiver.port)
        client.open_transaction()
        client.sock.sendall(MAIL[:40])
        started = time.monotonic()
        code, text = client.reply()
        waited = time.monotonic() - started
        assert (code, b"4.4.2" in text) == (421, True) and 0.9 < waited < 3, (text, waited)
        assert client.closed_by_server()
        client.close()
        assert wait_until(lambda: receiver.open_sessions == 0)
    assert stored(runtime) == []


def test_a_command_dripped_a_byte_at_a_time_is_cut_at_the_command_deadline(runtime):
    with InboundServer(runtime, "127.0.0.1", 0, command_seconds=1) as receiver:
        client = Conversation(receiver.port)
        assert client.reply()[0] == 220
        started = time.monotonic()
        for byte in b"EHLO client.example.org\r\n":         # 5 s at 1 byte per 0.2 s
            if select.select([client.sock], [], [], 0)[0]:
                break                                        # the server has spoken
            client.sock.sendall(bytes([byte]))
            time.sleep(0.2)
        code, text = client.reply()
        assert (code, b"4.4.2" in text) == (421, True) and time.monotonic() - started < 2.5, text
        assert client.closed_by_server()
        client.close()


def test_a_command_repeated_past_its_budget_ends_the_session(receiver):
    client = Conversation(receiver.port)
    assert client.reply()[0] == 220
    assert [client.command(b"NOOP") for _ in range(10)] == [250] * 10
    assert client.command(b"NOOP") == 421 and client.closed_by_server()
    client.close()


def test_a_client_sending_only_errors_is_dropped(receiver):
    client = Conversation(receiver.port)
    assert client.reply()[0] == 220
    assert [client.command(b"") for _ in range(20)] == [500] * 20     # blank lines count against no command
    assert client.reply() == (421, b"421 4.7.0 too many errors\r\n")
    assert client.closed_by_server()
    client.close()


def test_a_relay_delivers_many_messages_on_one_connection(runtime, receiver):
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
        for n in range(15):                                # more than any budget of the idle commands
            assert client.sendmail(SENDER, [BILLING], MAIL.replace(b"m1@", f"m{n}@".encode())) == {}
            client.rset()
    assert len(stored(runtime)) == 15


def test_an_8bit_recipient_is_refused_and_the_session_carries_on(runtime, receiver):
    client = Conversation(receiver.port)
    assert client.reply()[0] == 220 and client.command(b"EHLO client.example.org") == 250
    assert client.command(b"MAIL FROM:<client@example.org>") == 250
    client.sock.sendall(b"RCPT TO:<factur\xe9@helpdesk.example.com>\r\n")
    code, text = client.reply()
    assert code == 550 and b"<factur\\xe9@helpdesk.example.com>" in text          # shown, escaped
    assert client.command(f"RCPT TO:<{BILLING}>".encode()) == 250
    client.close()


def test_connections_over_the_cap_are_refused_at_once_and_a_freed_slot_is_usable(runtime):
    with InboundServer(runtime, "127.0.0.1", 0, max_connections=3) as receiver:
        first = [Conversation(receiver.port) for _ in range(3)]
        assert [c.reply()[0] for c in first] == [220] * 3
        started = time.monotonic()
        extra = Conversation(receiver.port)
        assert extra.reply() == (421, b"421 4.7.0 too many connections, try again later\r\n")
        assert extra.closed_by_server() and time.monotonic() - started < 1
        extra.close()
        assert [c.command(b"NOOP") for c in first] == [250] * 3     # the first three carry on
        first.pop().close()
        assert wait_until(lambda: receiver.open_sessions == 2)
        again = Conversation(receiver.port)
        assert again.reply()[0] == 220 and again.command(b"NOOP") == 250
        for client in first + [again]:
            client.close()


def test_one_address_cannot_take_every_slot(runtime):
    with InboundServer(runtime, "127.0.0.1", 0, max_connections=10, max_per_peer=2) as receiver:
        mine = [Conversation(receiver.port) for _ in range(2)]
        assert [c.reply()[0] for c in mine] == [220, 220]
        third = Conversation(receiver.port)
        assert third.reply()[0] == 421
        third.close()
        try:
            other = Conversation(receiver.port, source="127.0.0.2")
        except OSError:
            pytest.skip("this machine cannot connect from 127.0.0.2")
        assert other.reply()[0] == 220                              # another address still gets in
        for client in mine + [other]:
            client.close()


@pytest.mark.parametrize("sender, options, kept", [
    (b"j\xf6ran@example.org", b"", "j\\xf6ran@example.org"),
    (b"j\xf6ran@example.org", b" SMTPUTF8", "j\\xf6ran@example.org"),
    ("jöran@example.org".encode(), b" SMTPUTF8", "jöran@example.org"),
])
def test_an_8bit_envelope_sender_is_accepted_and_stored_visibly(runtime, receiver, sender, options, kept):
    client = Conversation(receiver.port)
    client.open_transaction(sender, options)
    client.sock.sendall(MAIL + b".\r\n")
    assert client.reply()[0] == 250
    client.close()
    [row] = stored(runtime)
    assert (row.envelope_from, row.raw) == (kept, MAIL)


def test_envelope_text_keeps_utf8_and_escapes_every_other_byte():
    wire = lambda raw: raw.decode("utf-8", "surrogateescape")      # what aiosmtpd hands over
    assert envelope_text(wire(b"plain@example.org")) == "plain@example.org"
    assert envelope_text(wire("jöran@exämple.org".encode())) == "jöran@exämple.org"
    assert envelope_text(wire(b"j\xf6r\xc3\xa4n@example.org")) == "j\\xf6rän@example.org"
    assert envelope_text(wire(b"a\x00b@example.org")) == "a\\x00b@example.org"
    assert envelope_text("lone\ud800@example.org") == "lone\\ud800@example.org"


def test_a_message_over_the_size_limit_gets_552_after_its_data_and_nothing_is_stored(runtime, receiver):
    client = Conversation(receiver.port)
    client.open_transaction()
    client.sock.sendall(MAIL + (b"y" * 78 + b"\r\n") * (MAX_BYTES // 80 + 1) + b".\r\n")
    assert client.reply()[0] == 552
    assert client.command(b"NOOP") == 250                           # still in step with the client
    client.close()
    assert stored(runtime) == []
    spool = runtime.settings.data_dir / "spool"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700 and os.listdir(spool) == []


class _Keep:
    """A handler for plain aiosmtpd: what its own DATA makes of the bytes."""

    def __init__(self):
        self.contents: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.contents.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def plain_aiosmtpd():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = _Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=port, data_size_limit=MAX_BYTES,
                            enable_SMTPUTF8=True)
    controller.start()
    yield port, keep
    controller.stop()


DATA_CASES = {
    "plain": b"Subject: x\r\n\r\nhello\r\n.\r\n",
    "stuffed dots": b"Subject: dots\r\n\r\n..\r\n...\r\n..x\r\n...y\r\n.\r\n",
    "unstuffed dot lines": b".x\r\n.\r\n",
    "bare LF and CR kept": b"a\nb\rc\r\n\n.\n\r\n.\r\n",
    "a dot after a bare LF is not the end": b"abc\n.\r\n.\r\n",
    "longest legal line": b"x" * 999 + b"\r\n.\r\n",
    "one byte too long": b"x" * 1000 + b"\r\n.\r\n",
    "far too long, then more": b"x" * 5000 + b"\r\nok\r\n" + b"y" * 3000 + b".\r\n.\r\n",
    "too much": (b"z" * 78 + b"\r\n") * 60 + b".\r\n",
    "too much, then a long line": (b"z" * 78 + b"\r\n") * 60 + b"x" * 3000 + b"\r\n.\r\n",
    "a long line, then too much": b"x" * 3000 + b"\r\n" + (b"z" * 78 + b"\r\n") * 60 + b".\r\n",
}


def converse(port: int, payload: bytes) -> tuple[int, int]:
    client = Conversation(port)
    client.open_transaction()
    client.sock.sendall(payload)
    codes = client.reply()[0], client.command(b"NOOP")
    client.close()
    return codes


@pytest.mark.parametrize("payload", DATA_CASES.values(), ids=DATA_CASES.keys())
def test_data_is_read_exactly_as_aiosmtpd_reads_it(runtime, receiver, plain_aiosmtpd, payload):
    port, keep = plain_aiosmtpd
    theirs = converse(port, payload)
    ours = converse(receiver.port, payload)
    assert ours == theirs
    assert [row.raw for row in stored(runtime)] == keep.contents


def test_a_last_line_without_crlf_is_ended_as_smtplib_and_aiosmtpd_agree(runtime, receiver, plain_aiosmtpd):
    port, keep = plain_aiosmtpd
    message = b"Subject: no end\r\n\r\n.starts with a dot\r\nno CRLF at the end"
    for target in (port, receiver.port):
        with smtplib.SMTP("127.0.0.1", target, timeout=10) as client:
            client.sendmail(SENDER, [BILLING], message)
    [row] = stored(runtime)
    assert row.raw == keep.contents[0] == message + b"\r\n"


@pytest.fixture
def roomy_runtime(tmp_path, database_url):
    runtime = bootstrap(Settings(data_dir=tmp_path / "data", database_url=database_url, inbound_domain=DOMAIN,
                                 inbound_max_bytes=40 * MIB))
    map_addresses(runtime)
    yield runtime
    runtime.engine.dispose()


def big_message(size: int) -> bytes:
    head = b"From: <client@example.org>\r\nSubject: big\r\nMessage-ID: <big@example.org>\r\n\r\n"
    body = base64.b64encode(random.Random(7).randbytes(size * 3 // 4))
    lines = [body[i:i + 76] for i in range(0, len(body), 76)]
    lines[::997] = [b"." + line for line in lines[::997]]          # lines smtplib must dot-stuff
    return head + b"\r\n".join(lines) + b"\r\n"


def open_spool_files(receiver) -> list[str]:
    """Files this process (the receiver's) holds open in the spool directory, deleted ones included."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass                                           # closed while we looked
    return [path for path in paths if path.startswith(str(receiver.spool_dir))]


def test_a_34_mb_message_is_stored_byte_for_byte(roomy_runtime):
    raw = big_message(34 * MIB)
    with InboundServer(roomy_runtime, "127.0.0.1", 0) as receiver:
        with smtplib.SMTP(receiver.host, receiver.port, timeout=60) as client:
            assert client.sendmail(SENDER, [BILLING], raw) == {}
        assert open_spool_files(receiver) == []
    [row] = stored(roomy_runtime)
    assert len(row.raw) == len(raw) and row.raw == raw


def test_a_client_gone_in_the_middle_of_a_large_message_leaves_no_spool_file(roomy_runtime):
    with InboundServer(roomy_runtime, "127.0.0.1", 0) as receiver:
        client = Conversation(receiver.port)
        client.open_transaction()
        client.sock.sendall(MAIL + (b"x" * 78 + b"\r\n") * (3 * MIB // 80))   # past the 1 MiB in memory
        assert wait_until(lambda: open_spool_files(receiver) != [])
        client.close()
        assert wait_until(lambda: receiver.open_sessions == 0 and open_spool_files(receiver) == [])
    assert stored(roomy_runtime) == []


def test_a_spool_that_cannot_be_written_answers_452_in_step_with_the_client(roomy_runtime):
    with InboundServer(roomy_runtime, "127.0.0.1", 0) as receiver:
        receiver.spool_dir.rmdir()                          # as a full or failed disk would
        client = Conversation(receiver.port)
        client.open_transaction()
        client.sock.sendall(MAIL + (b"x" * 78 + b"\r\n") * (2 * MIB // 80) + b".\r\n")
        assert client.reply()[0] == 452 and client.command(b"NOOP") == 250
        client.close()
    assert stored(roomy_runtime) == []
