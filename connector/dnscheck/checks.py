"""The vocabulary of a DNS check: one Finding per record (SPF, DKIM, DMARC), built from per-path parts; pure."""
from __future__ import annotations

from dataclasses import asdict, dataclass

GOOGLE_SPF_INCLUDE = "_spf.google.com"
GOOGLE_DKIM_SELECTOR = "google"
# A failure outranks "could not tell", which outranks a weak pass: the worst part names the finding.
_RANK = {"ok": 0, "weak": 1, "unreachable": 2, "missing": 3, "wrong": 3}


@dataclass(frozen=True)
class Part:
    """What one sending path (gmail, relay) or the record itself contributes to a finding."""
    path: str
    status: str               # ok | weak | missing | wrong | unreachable
    detail: str
    fix: str | None = None
    publish: tuple[str, ...] = ()   # the TXT line(s) this part's fix publishes

    def as_json(self) -> dict:
        return {**asdict(self), "publish": list(self.publish)}


@dataclass(frozen=True)
class Finding:
    check: str                # spf | dkim | dmarc
    ok: bool
    status: str               # ok | missing | wrong | weak | unreachable (DNS did not answer)
    record: str | None        # what is published now
    detail: str
    fix: str | None = None
    publish: tuple[str, ...] = ()   # the exact TXT line(s) to publish, as `TXT NAME "VALUE"`
    parts: tuple[Part, ...] = ()

    def as_json(self) -> dict:
        return {**asdict(self), "publish": list(self.publish), "parts": [p.as_json() for p in self.parts]}


def combine(check: str, record: str | None, parts: list[Part], publish: tuple[str, ...] = ()) -> Finding:
    """One finding from its parts: the worst part's status; every detail and fix, in order."""
    worst = max(parts, key=lambda p: _RANK[p.status])
    ok = _RANK[worst.status] <= _RANK["weak"]
    if len(parts) == 1:
        detail = worst.detail
    else:
        detail = "; ".join(f"{p.path}: {p.detail}" for p in parts)
    # The fixes of the parts that need one, the most urgent first (the dashboard shows the first).
    needing = sorted((p for p in parts if p.fix and p.status != "ok"), key=lambda p: -_RANK[p.status])
    fixes = list(dict.fromkeys(p.fix for p in needing))
    lines = tuple(dict.fromkeys([*publish, *(line for p in parts for line in p.publish)]))
    return Finding(check, ok, worst.status, record, detail, "; ".join(fixes) or None, lines, tuple(parts))


def txt_line(name: str, value: str) -> str:
    """`TXT NAME "VALUE"`, split into 255-byte strings as DNS requires for long values (DKIM keys)."""
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return f"TXT {name} " + " ".join('"' + chunk.replace('"', '\\"') + '"' for chunk in chunks)


def tags(record: str) -> dict[str, str]:
    """`k=v; k=v` tags (DKIM, DMARC), keys lower-case, the first of a repeated key kept."""
    found: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            found.setdefault(key.strip().lower(), value.strip())
    return found
