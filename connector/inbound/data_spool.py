"""SMTP DATA read into a spool file: dot-unstuffed, size-limited, bounded memory, ended by silence.

aiosmtpd's own `smtp_DATA` keeps the message as a list of lines and then joins them, so a 35 MB
message is in memory twice before the handler sees it. This reader keeps aiosmtpd's rules (the
lone dot ends DATA, RFC 5321 4.5.2 transparency, 552 and 500 only after the rest was read) but
writes the lines to a `SpooledTemporaryFile` that moves to disk past `SPOOL_MEMORY_BYTES`. Its
timer also runs from the DATA command however steadily data flows; here only silence ends DATA.
"""
from __future__ import annotations

import asyncio
import enum
import logging
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from aiosmtpd.smtp import MISSING, syntax

from connector.inbound.envelope import SpooledEnvelope

log = logging.getLogger(__name__)
SPOOL_MEMORY_BYTES = 1024 * 1024
# Lines are gathered and written in blocks: one write per line costs more than the reading.
WRITE_BLOCK_BYTES = 64 * 1024


class DataOutcome(enum.Enum):
    """How a DATA section ended; only COMPLETE leaves a message in the spool."""
    COMPLETE = "complete"
    LINE_TOO_LONG = "line too long"
    TOO_MUCH = "too much data"
    NO_SPACE = "spool not writable"


# Sent after the lone dot; the first two are aiosmtpd's own.
REFUSALS = {DataOutcome.LINE_TOO_LONG: "500 Line too long (see RFC5321 4.5.3.1.6)",
            DataOutcome.TOO_MUCH: "552 Error: Too much mail data",
            DataOutcome.NO_SPACE: "452 4.3.1 insufficient system storage, try again later"}


def prepare_spool_dir(path: Path) -> Path:
    """Create the spool directory readable by us alone: it holds mail not yet stored."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)       # mkdir's mode is cut by the umask and ignored for an existing directory
    return path


def open_spool(directory: Path) -> BinaryIO:
    """A file for one message: in memory up to 1 MiB, then an unnamed 0600 file in `directory`."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, dir=directory)


async def read_data(reader: asyncio.StreamReader, spool: BinaryIO, *, size_limit: int | None,
                    line_limit: int, on_read: Callable[[], None]) -> DataOutcome:
    """Copy DATA from `reader` into `spool` up to the lone dot; `on_read` is called after every read.

    Like aiosmtpd, the size counted against `size_limit` is the bytes on the wire (stuffed dots and
    CRLFs included), and a line is too long past `line_limit` bytes with its CRLF.
    """
    outcome, received, mid_line = DataOutcome.COMPLETE, 0, False
    block = bytearray()
    while True:
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as overrun:
            # Longer than the reader's limit: drain it in pieces; the answer waits for the lone dot.
            line = await reader.read(overrun.consumed)
            if outcome is DataOutcome.COMPLETE:
                outcome = _discard(spool, block, DataOutcome.LINE_TOO_LONG)
        on_read()
        if not mid_line and line == b".\r\n":
            break
        received += len(line)
        if outcome is DataOutcome.COMPLETE and size_limit and received > size_limit:
            outcome = _discard(spool, block, DataOutcome.TOO_MUCH)
        mid_line = not line.endswith(b"\r\n")
        if outcome is not DataOutcome.COMPLETE:
            continue
        if len(line) > line_limit:
            outcome = _discard(spool, block, DataOutcome.LINE_TOO_LONG)
            continue
        block += memoryview(line)[1:] if line.startswith(b".") else line
        if len(block) >= WRITE_BLOCK_BYTES:
            outcome = _write(spool, block)
    return _write(spool, block) if outcome is DataOutcome.COMPLETE else outcome


def _write(spool: BinaryIO, block: bytearray) -> DataOutcome:
    try:
        spool.write(block)
    except OSError:
        # A full or broken disk: keep reading to the lone dot so the client hears a 452 in step.
        log.exception("could not write to the SMTP spool")
        return _discard(spool, block, DataOutcome.NO_SPACE)
    block.clear()
    return DataOutcome.COMPLETE


def _discard(spool: BinaryIO, block: bytearray, outcome: DataOutcome) -> DataOutcome:
    # The message will be refused: free its memory and disk now rather than after the lone dot.
    block.clear()
    try:
        spool.seek(0)
        spool.truncate()
    except OSError:
        log.exception("could not empty the SMTP spool")
    return outcome


class SpooledData:
    """Mix-in for aiosmtpd's `SMTP`: its DATA command, spooled, with an idle timeout between reads.

    The session sets `_spool_dir` and `_data_idle_seconds`, and its timeout callback first asks
    `_data_still_flowing()`. The handler finds the message in `envelope.spool` (a SpooledEnvelope).
    """
    _spool_dir: Path
    _data_idle_seconds: float
    _idle_window: float | None = None       # set while DATA is read
    _last_read = 0.0

    def _create_envelope(self) -> SpooledEnvelope:
        return SpooledEnvelope()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        # Replaces aiosmtpd's own (see the module's docstring for why); same checks, same answers.
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            return await self.push("503 Error: need RCPT command")
        if arg:
            return await self.push("501 Syntax: DATA")
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        with open_spool(self._spool_dir) as spool:     # closing deletes it, whatever happens
            outcome = await self._read_into(spool)
            if outcome is DataOutcome.COMPLETE:
                self.envelope.spool, self.envelope.size = spool, spool.tell()
                status = await self._call_handler_hook("DATA")
            else:
                status = REFUSALS[outcome]
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_into(self, spool: BinaryIO) -> DataOutcome:
        self._idle_window = self._data_idle_seconds
        self._mark_read()
        self._reset_timeout(self._idle_window)
        try:
            outcome = await read_data(self._reader, spool, size_limit=self.data_size_limit,
                                      line_limit=self.line_length_limit, on_read=self._mark_read)
        finally:
            self._idle_window = None
        self._reset_timeout()       # the session's own work from here: storing the message
        return outcome

    def _mark_read(self) -> None:
        self._last_read = self.loop.time()

    def _data_still_flowing(self) -> bool:
        """True, with the timer re-armed for the rest of the window, if DATA came since it was set."""
        if self._idle_window is None:
            return False
        quiet = self.loop.time() - self._last_read
        if quiet >= self._idle_window:
            return False
        # One timer per idle window rather than one per line read keeps a 35 MB DATA cheap.
        self._reset_timeout(self._idle_window - quiet)
        return True
