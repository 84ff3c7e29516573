"""Reading mail in worker processes: a hostile message costs one worker and one Unreadable, never the pool."""
from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
import warnings

import pytest

from bench.mailgen import SupportMailGenerator
from connector.mail.model import ParsedMail
from connector.mail.parse import parse_mail
from connector.ticketing.reader import InlineReader
from connector.ticketing.reader_pool import MailReaderPool, ReaderStartError, Unreadable
from tests.ticketing.hostile_parsers import hostile

HOSTILE = "tests.ticketing.hostile_parsers:parse_or_misbehave"
MEMORY = 256 << 20


@pytest.fixture(scope="module")
def mails() -> list[bytes]:
    return SupportMailGenerator("support@example.com", 7).generate(200)


@pytest.fixture
def pool():
    with MailReaderPool(workers=2, timeout_seconds=1.0, memory_bytes=MEMORY, parse=HOSTILE) as pool:
        yield pool
    assert _readers() == []


def _readers() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name == "mail-reader"]


def _reads_normally(pool, raw: bytes) -> None:
    assert pool.read(raw) == parse_mail(raw)


def test_a_normal_message_reads_as_it_does_in_process(pool, mails):
    for raw in mails[:40]:
        got = pool.read(raw)
        assert isinstance(got, ParsedMail)
        assert got == parse_mail(raw)
        assert got.raw is raw          # the caller's bytes, not a copy that crossed the pipe twice
    assert any(parse_mail(raw).attachments for raw in mails[:40])


def test_a_message_that_reads_too_slowly_is_unreadable_and_its_worker_replaced(pool, mails):
    started = time.monotonic()
    assert pool.read(hostile("sleep")) == Unreadable("too complex: reading it took over 1 s")
    assert time.monotonic() - started < 3
    _reads_normally(pool, mails[0])
    assert len(_readers()) == 2


def test_a_message_that_needs_too_much_memory_is_unreadable(pool, mails):
    assert pool.read(hostile("hog")) == Unreadable("too complex: reading it needed over 256 MB of memory")
    _reads_normally(pool, mails[1])


@pytest.mark.parametrize("how, reason", [
    ("sigkill", "could not be read: the reader process died (signal 9)"),
    ("segfault", "could not be read: the reader process died (signal 11)"),
    ("exit", "could not be read: the reader process died (exit code 3)"),
])
def test_a_message_that_kills_its_reader_is_unreadable_and_the_pool_carries_on(pool, mails, how, reason):
    assert pool.read(hostile(how)) == Unreadable(reason)
    for raw in mails[:3]:
        _reads_normally(pool, raw)


def test_a_parser_exception_is_unreadable_with_its_text(pool, mails):
    assert pool.read(hostile("raise")) == Unreadable("could not be read: ValueError: parser bug")
    _reads_normally(pool, mails[2])


def test_a_worker_that_died_while_idle_costs_no_message(pool, mails):
    pool.start()
    for reader in _readers():
        os.kill(reader.pid, signal.SIGKILL)
    time.sleep(0.2)
    for raw in mails[:4]:
        _reads_normally(pool, raw)


def test_eight_threads_read_two_hundred_messages_among_hostile_ones(pool, mails):
    expected = [parse_mail(raw) for raw in mails]
    work = [(i, raw) for i, raw in enumerate(mails)] + [(None, hostile("sigkill"))] * 6
    results: dict[int, object] = {}
    failures: list[object] = []

    def reader(share):
        for index, raw in share:
            got = pool.read(raw)
            if index is None:
                failures.append(got)
            else:
                results[index] = got

    threads = [threading.Thread(target=reader, args=(work[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(mails))] == expected
    assert failures == [Unreadable("could not be read: the reader process died (signal 9)")] * 6


def test_close_stops_every_worker_without_warnings(mails):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pool = MailReaderPool(workers=3, timeout_seconds=2.0)
        pool.start()
        pids = [p.pid for p in _readers()]
        assert len(pids) == 3
        _reads_normally(pool, mails[0])
        pool.close()
        pool.close()
        del pool
        gc.collect()
    assert _readers() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)         # reaped, not left as zombies
    assert [str(w.message) for w in caught] == []


def test_a_closed_pool_reads_no_more():
    pool = MailReaderPool(workers=1)
    pool.close()
    with pytest.raises(RuntimeError):
        pool.read(b"Subject: late\r\n\r\n")


def test_a_parse_target_that_cannot_be_imported_fails_at_start_not_per_message():
    with MailReaderPool(workers=1, parse="tests.ticketing.no_such_module:parse") as pool:
        with pytest.raises(ReaderStartError, match="ModuleNotFoundError"):
            pool.read(b"Subject: hello\r\n\r\n")
    assert _readers() == []


def test_the_inline_reader_parses_in_process_and_turns_exceptions_into_unreadable(mails):
    with InlineReader() as reader:
        assert reader.read(mails[0]) == parse_mail(mails[0])
    assert InlineReader(HOSTILE).read(hostile("raise")) == Unreadable("could not be read: ValueError: parser bug")
