"""What reading one stored message gives: a ParsedMail or an Unreadable reason, and the in-process reader."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Protocol

from connector.mail.model import ParsedMail

DEFAULT_PARSE = "connector.mail.parse:parse_mail"
ParseFunction = Callable[[bytes], ParsedMail]


@dataclass(frozen=True)
class Unreadable:
    """Why a message could not be read; shown to a person on the held-back mail."""
    reason: str


class MailReader(Protocol):
    def read(self, raw: bytes) -> ParsedMail | Unreadable: ...

    def close(self) -> None: ...


def load_parse(target: str) -> ParseFunction:
    """"module:function" to the function: a string, so a worker process can import it by name."""
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"parse target must be 'module:function', not {target!r}")
    return getattr(importlib.import_module(module_name), function_name)


def too_slow(seconds: float) -> Unreadable:
    return Unreadable(f"too complex: reading it took over {seconds:g} s")


def too_big(memory_bytes: int) -> Unreadable:
    return Unreadable(f"too complex: reading it needed over {memory_bytes / (1 << 20):,.0f} MB of memory")


def reader_died(exitcode: int | None) -> Unreadable:
    how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"
    return Unreadable(f"could not be read: the reader process died ({how})")


def parse_failed(exc: BaseException) -> Unreadable:
    return Unreadable(f"could not be read: {type(exc).__name__}: {exc}"[:500])


class InlineReader:
    """Parses in this process, with no time or memory bound: for one-shot CLI commands and fast tests."""

    def __init__(self, parse: str = DEFAULT_PARSE):
        self._parse = load_parse(parse)

    def read(self, raw: bytes) -> ParsedMail | Unreadable:
        try:
            return self._parse(raw)
        except Exception as exc:   # parse_mail promises not to raise; a broken promise holds one mail back
            return parse_failed(exc)

    def close(self) -> None:
        pass

    def __enter__(self) -> InlineReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
