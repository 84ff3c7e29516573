"""What happened to one stored message once its decision was applied: a typed value, never parsed text."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class OutcomeKind(str, Enum):
    CREATED = "created"          # a new ticket
    COMMENTED = "commented"      # a public customer comment on an existing ticket
    NOTED = "noted"              # a private note (a linked auto-reply or bounce)
    SUSPENDED = "suspended"      # held back with a reason a person can read
    FORWARDING = "forwarding"    # attached to a forwarding setup (confirmation, verification)
    SKIPPED = "skipped"          # a duplicate, or already processed


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    text: str                    # readable, kept on the raw mail: "ticket 12 created", "suspended: ..."
    ticket_id: int | None = None
    reopened: bool = False

    def __str__(self) -> str:
        return self.text


def skipped(reason: str, ticket_id: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.SKIPPED, f"skipped: {reason}", ticket_id)


@dataclass
class OutcomeCounts:
    """How many messages of a pass ended each way (sync reports, the CLI's summary line)."""
    created: int = 0
    commented: int = 0
    noted: int = 0
    suspended: int = 0
    forwarding: int = 0
    skipped: int = 0
    failed: int = 0           # could not even be held back (the database refused); retried later

    def add(self, outcome: Outcome) -> None:
        name = outcome.kind.value
        setattr(self, name, getattr(self, name) + 1)

    def merge(self, other: "OutcomeCounts") -> None:
        for name in ("created", "commented", "noted", "suspended", "forwarding", "skipped", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
