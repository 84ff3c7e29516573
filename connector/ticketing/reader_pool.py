"""Reading mail in worker processes within a time and memory budget: a hostile message costs a worker, not the daemon.

Hand-written, not `pebble.ProcessPool`: pebble breaks its whole pool for good when a worker dies with
no task running (an idle worker taken by the OOM killer), and its workers share one pipe and lock, so
one dying mid-write wedges the rest. Here each worker has its own pipe: a death touches one call.
"""
from __future__ import annotations

import multiprocessing
import queue
import resource
import signal
import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection

from connector.mail.model import ParsedMail
from connector.ticketing.reader import (DEFAULT_PARSE, MailReader, Unreadable, load_parse, parse_failed,
                                        reader_died, too_big, too_slow)

__all__ = ["MailReader", "MailReaderPool", "ReaderStartError", "Unreadable"]

# A spawned interpreter imports the parser in well under a second; this only bounds a wedged start.
STARTUP_SECONDS = 60.0
_READY = "ready"


class ReaderStartError(RuntimeError):
    """A worker could not start (bad parse target, memory limit below the interpreter's): not the mail's fault."""


def serve(conn: Connection, target: str, memory_bytes: int) -> None:
    """The worker's loop: raw bytes in, a ParsedMail without `raw` (or an Unreadable) out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C reaches the whole group; the parent stops us
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        parse = load_parse(target)
    except BaseException as exc:
        conn.send(parse_failed(exc).reason)
        return
    conn.send(_READY)
    while True:
        try:
            raw = conn.recv_bytes()
        except EOFError:
            return
        except MemoryError:
            conn.send(too_big(memory_bytes))
            return
        _reply(conn, _read_one(parse, raw, memory_bytes), memory_bytes)


def _read_one(parse, raw: bytes, memory_bytes: int) -> ParsedMail | Unreadable:
    try:
        # The parent holds the caller's bytes: sending them back would double the traffic for nothing.
        return replace(parse(raw), raw=b"")
    except MemoryError:
        pass                # answered below, once the traceback and the frames it holds are freed
    except Exception as exc:
        return parse_failed(exc)
    return too_big(memory_bytes)


def _reply(conn: Connection, outcome: ParsedMail | Unreadable, memory_bytes: int) -> None:
    try:
        conn.send(outcome)          # pickled whole before the first byte is written
    except MemoryError:
        del outcome
        conn.send(too_big(memory_bytes))
    except Exception as exc:        # an unpicklable result from a custom parse target
        conn.send(parse_failed(exc))


class _Worker:
    """One reader process and the parent's end of its own pipe."""

    def __init__(self, context, target: str, memory_bytes: int):
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=serve, args=(child_end, target, memory_bytes),
                                       name="mail-reader", daemon=True)
        self.process.start()
        child_end.close()       # so that our end sees EOF the moment the child dies
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        try:
            hello = self.conn.recv() if self.conn.poll(STARTUP_SECONDS) else "no answer in time"
        except (EOFError, OSError):
            hello = reader_died(self._exitcode()).reason
        if hello != _READY:
            raise ReaderStartError(f"mail reader did not start: {hello}")
        self.ready = True

    def exchange(self, raw: bytes, timeout: float) -> ParsedMail | Unreadable | None:
        """The worker's answer; None when it took longer than `timeout` (the caller kills it)."""
        try:
            self.conn.send_bytes(raw)
            if not self.conn.poll(timeout):
                return None
            return self.conn.recv()
        except (EOFError, OSError):
            return reader_died(self._exitcode())

    def _exitcode(self) -> int | None:
        # The pipe closes an instant before the process is reapable, and another thread starting a
        # worker reaps finished children too (multiprocessing's _cleanup): when it wins that race our
        # join returns with exitcode still None, and the code lands a moment later.
        deadline = time.monotonic() + 5
        self.process.join(5)
        while self.process.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.process.exitcode

    def stop(self, kill: bool = False) -> None:
        self.conn.close()       # an idle worker reads EOF and leaves by itself
        if kill:
            self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.process.close()


class MailReaderPool:
    """`read()` from many threads at once; each call borrows one idle worker for one message.

    A worker is kept only after it answered with a ParsedMail: one over time is killed, and one that
    ran out of memory, failed or died is replaced, so no state a message left behind survives it.
    Replacements start at once and are awaited by the next call that borrows their slot.
    """

    def __init__(self, workers: int = 2, timeout_seconds: float = 20.0, memory_bytes: int = 1 << 30,
                 parse: str = DEFAULT_PARSE):
        if workers < 1:
            raise ValueError("a reader pool needs at least one worker")
        self.workers, self.timeout_seconds, self.memory_bytes, self.parse = (
            workers, timeout_seconds, memory_bytes, parse)
        # Never fork: the daemon has threads, and a forked child inherits their locks mid-use.
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = self._closed = False

    def start(self) -> MailReaderPool:
        with self._lock:
            if self._closed:
                raise RuntimeError("this mail reader pool is closed")
            if not self._started:
                for worker in self._ready_workers():
                    self._idle.put(worker)
                self._started = True
        return self

    def _ready_workers(self) -> list[_Worker]:
        fresh = [self._spawn() for _ in range(self.workers)]     # all started before any is awaited
        try:
            for worker in fresh:
                worker.wait_ready()
        except BaseException:
            for worker in fresh:
                worker.stop(kill=True)
            raise
        return fresh

    def read(self, raw: bytes) -> ParsedMail | Unreadable:
        worker = self._borrow()
        outcome = None
        try:
            outcome = worker.exchange(raw, self.timeout_seconds)
        finally:
            if isinstance(outcome, ParsedMail):
                self._idle.put(worker)
            else:
                worker.stop(kill=True)
                self._idle.put(self._spawn_or_none())
        if outcome is None:
            return too_slow(self.timeout_seconds)
        return replace(outcome, raw=raw) if isinstance(outcome, ParsedMail) else outcome

    def _borrow(self) -> _Worker:
        if not self._started:
            self.start()
        worker = self._idle.get()
        try:
            if self._closed:
                raise RuntimeError("this mail reader pool is closed")
            if worker is not None and not worker.process.is_alive():   # died while idle: not this message's doing
                worker.stop()
                worker = None
            worker = worker or self._spawn()
            worker.wait_ready()
            return worker
        except BaseException:
            if worker is not None:
                worker.stop(kill=True)
            self._idle.put(None)    # the slot survives, so a later call can try again
            raise

    def _spawn(self) -> _Worker:
        return _Worker(self._context, self.parse, self.memory_bytes)

    def _spawn_or_none(self) -> _Worker | None:
        try:
            return self._spawn()
        except OSError:             # no process to be had now; the next borrower tries again
            return None

    def close(self) -> None:
        """Stops every worker, waiting for the reads in flight (each is bounded by the timeout)."""
        with self._lock:
            if self._closed:
                return
            self._closed, started = True, self._started
        if not started:
            return
        stopping = [w for w in (self._idle.get() for _ in range(self.workers)) if w is not None]
        for worker in stopping:
            worker.conn.close()     # all of them leave at once, rather than one join after another
        for worker in stopping:
            worker.stop()
        for _ in range(self.workers):
            self._idle.put(None)    # wakes any call still waiting for a worker, to be told the pool is closed

    def __enter__(self) -> MailReaderPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
