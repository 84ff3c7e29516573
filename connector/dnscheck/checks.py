"""SPF, DKIM and DMARC judged from TXT records (pure), each finding with the fix to publish."""
from __future__ import annotations

from dataclasses import asdict, dataclass

GOOGLE_SPF_INCLUDE = "_spf.google.com"
GOOGLE_DKIM_SELECTOR = "google"


@dataclass(frozen=True)
class Finding:
    check: str                # spf | dkim | dmarc
    ok: bool
    status: str               # ok | missing | wrong | weak
    record: str | None
    detail: str
    fix: str | None = None

    def as_json(self) -> dict:
        return asdict(self)


def check_spf(domain: str, records: list[str], include: str = GOOGLE_SPF_INCLUDE) -> Finding:
    spf = [r for r in records if r.lower().startswith("v=spf1")]
    wanted = f"include:{include}"
    suggested = f'TXT {domain} "v=spf1 {wanted} ~all"'
    if not spf:
        return Finding("spf", False, "missing", None, f"{domain} publishes no SPF record", f"publish {suggested}")
    if len(spf) > 1:
        return Finding("spf", False, "wrong", " | ".join(spf), f"{domain} publishes {len(spf)} SPF records: "
                       "receivers treat that as an error", f"merge them into one record, e.g. {suggested}")
    record, terms = spf[0], spf[0].lower().split()
    if wanted.lower() not in terms:
        return Finding("spf", False, "wrong", record, f"the SPF record does not include {include}, so mail sent "
                       "through it fails SPF", f"add {wanted} before the final all, e.g. {suggested}")
    if "+all" in terms or "all" in terms:
        return Finding("spf", False, "weak", record, "the SPF record ends in +all: anyone may send as "
                       f"{domain}", "end it with ~all or -all")
    return Finding("spf", True, "ok", record, f"SPF includes {include}")


def check_dkim(domain: str, selector: str, records: list[str]) -> Finding:
    name = f"{selector}._domainkey.{domain}"
    keys = [r for r in records if "p=" in r.replace(" ", "")]
    fix = (f"generate a DKIM key (Google Admin console > Apps > Google Workspace > Gmail > Authenticate "
           f"email), publish it as TXT {name}, then start authentication")
    if not keys:
        return Finding("dkim", False, "missing", None, f"no DKIM key at {name}", fix)
    tags = _tags(keys[0])
    if not tags.get("p"):
        return Finding("dkim", False, "wrong", keys[0], f"the DKIM key at {name} is empty (revoked)", fix)
    return Finding("dkim", True, "ok", keys[0], f"DKIM key published at {name}")


def check_dmarc(domain: str, records: list[str]) -> Finding:
    dmarc = [r for r in records if r.replace(" ", "").lower().startswith("v=dmarc1")]
    suggested = f'TXT _dmarc.{domain} "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{domain}"'
    if not dmarc:
        return Finding("dmarc", False, "missing", None, f"_dmarc.{domain} has no DMARC record",
                       f"publish {suggested} (start with p=none to monitor first)")
    record = dmarc[0]
    policy = _tags(record).get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return Finding("dmarc", False, "wrong", record, f"the DMARC record has no valid policy (p={policy or '?'})",
                       f"set p=none, quarantine or reject, e.g. {suggested}")
    if policy == "none":
        return Finding("dmarc", True, "weak", record, "DMARC policy none: reports only, spoofed mail is still "
                       "delivered", "once reports show SPF and DKIM pass, move to p=quarantine")
    return Finding("dmarc", True, "ok", record, f"DMARC policy {policy}")


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            tags[key.strip().lower()] = value.strip()
    return tags
