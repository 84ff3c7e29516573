"""Parse targets that misbehave on cue, for the reader pool's tests; spawned workers import them by name.

A message starting with `misbehave: <how>` triggers <how>; any other message is parsed normally, so
one pool can meet a hostile message and then prove it still reads the next one.
"""
from __future__ import annotations

import ctypes
import os
import signal
import time

from connector.mail.model import ParsedMail
from connector.mail.parse import parse_mail

CUE = b"misbehave: "


def _sleep() -> None:
    time.sleep(60)


def _hog() -> None:
    # Grows step by step, as a quadratic parser would, until the worker's address space runs out.
    held = []
    for _ in range(1024):
        held.append(bytearray(64 << 20))


def _sigkill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _exit() -> None:
    os._exit(3)


def _segfault() -> None:
    ctypes.string_at(0)


def _raise() -> None:
    raise ValueError("parser bug")


BEHAVIOURS = {"sleep": _sleep, "hog": _hog, "sigkill": _sigkill, "exit": _exit, "segfault": _segfault,
              "raise": _raise}


def parse_or_misbehave(raw: bytes) -> ParsedMail:
    if raw.startswith(CUE):
        BEHAVIOURS[raw[len(CUE):].split()[0].decode()]()
    return parse_mail(raw)


def hostile(how: str) -> bytes:
    return CUE + how.encode() + b"\r\n\r\n"
