"""DMARC: the policy a receiver applies to mail From the domain, and whether each of our paths passes it."""
from __future__ import annotations

from dataclasses import dataclass

from connector.dnscheck.alignment import aligned, organizational_domain
from connector.dnscheck.checks import Finding, Part, combine, tags, txt_line
from connector.dnscheck.paths import SendingPath
from connector.dnscheck.port import DnsLookup, DnsUnavailable

RETRY = "check DNS_RESOLVER or the network, then run the check again"


@dataclass(frozen=True)
class PathVerdict:
    path: SendingPath
    passes: bool | None           # None: DNS did not let us tell
    why: str
    relaxed_would_pass: bool


def check_dmarc(domain: str, paths: list[SendingPath], spf: dict[str, str], dkim: dict[str, str],
                lookup: DnsLookup, dkim_publish: tuple[str, ...] = ()) -> Finding:
    """The DMARC finding for mail From @domain sent through `paths`, given their SPF and DKIM outcomes."""
    try:
        records, at = discover(domain, lookup)
    except DnsUnavailable as exc:
        return combine("dmarc", None, [Part("record", "unreachable", f"DNS did not answer for _dmarc.{domain} "
                                            f"({exc})", RETRY)])
    # Quarantine only what our own replies already pass: enforcing first would bin them.
    ready = all(_verdict(domain, p, spf.get(p.name, "unknown"), dkim.get(p.name, "unknown"), {}).passes
                for p in paths)
    suggested = txt_line(f"_dmarc.{domain}", f"v=DMARC1; p={'quarantine' if ready else 'none'}; "
                                             f"rua=mailto:dmarc-reports@{domain}")
    if not records:
        hint = "start with p=none to monitor first" if ready else "our replies do not pass DMARC yet: fix them first"
        return combine("dmarc", None, [Part("record", "missing", f"_dmarc.{domain} has no DMARC record",
                                            f"publish {suggested} ({hint})", (suggested,))])
    if len(records) > 1:
        return combine("dmarc", " | ".join(records), [Part("record", "wrong", f"_dmarc.{at} publishes "
                       f"{len(records)} DMARC records: receivers ignore them all", f"keep one, e.g. {suggested}")],
                       (suggested,))
    record, found = records[0], tags(records[0])
    # RFC 7489 6.6.3: sp= applies to a subdomain whose policy came from its organizational domain.
    policy = (found.get("sp") or found.get("p", "")) if at != domain else found.get("p", "")
    policy = policy.lower()
    if policy not in ("none", "quarantine", "reject"):
        return combine("dmarc", record, [Part("record", "wrong", f"the DMARC record has no valid policy "
                       f"(p={policy or '?'})", f"set p=none, quarantine or reject, e.g. {suggested}")], (suggested,))
    verdicts = [_verdict(domain, p, spf.get(p.name, "unknown"), dkim.get(p.name, "unknown"), found) for p in paths]
    parts = [_path_part(domain, policy, v, record, at, dkim_publish) for v in verdicts]
    parts.insert(0, _policy_part(domain, policy, found, at, verdicts, record))
    # Nothing to change: the record to keep published is the one there now.
    keep = () if any(p.publish for p in parts) else (txt_line(f"_dmarc.{at}", record),)
    return combine("dmarc", record, parts, keep)


def discover(domain: str, lookup: DnsLookup) -> tuple[list[str], str]:
    """The DMARC records that govern `domain` and where they were found (RFC 7489 6.6.3)."""
    records = _dmarc_records(lookup.txt(f"_dmarc.{domain}"))
    organizational = organizational_domain(domain)
    if not records and organizational != domain:
        return _dmarc_records(lookup.txt(f"_dmarc.{organizational}")), organizational
    return records, domain


def _dmarc_records(texts: list[str]) -> list[str]:
    return [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]


def _verdict(domain: str, path: SendingPath, spf: str, dkim: str, found: dict[str, str]) -> PathVerdict:
    aspf, adkim = found.get("aspf", "r").lower(), found.get("adkim", "r").lower()
    spf_aligned, dkim_aligned = aligned(path.envelope_domain, domain, aspf), aligned(path.dkim_domain, domain, adkim)
    passes = spf == "pass" and spf_aligned or dkim == "pass" and dkim_aligned
    relaxed = spf == "pass" and aligned(path.envelope_domain, domain, "r") or \
        dkim == "pass" and aligned(path.dkim_domain, domain, "r")
    signed = f"DKIM {dkim} d={path.dkim_domain}" if path.dkim_domain else "no DKIM signature"
    why = (f"SPF {spf} for {path.envelope_domain} ({'aligned' if spf_aligned else 'not aligned'}, aspf={aspf}), "
           f"{signed} ({'aligned' if dkim_aligned else 'not aligned'}, adkim={adkim})")
    unknown = not passes and "unknown" in (spf, dkim)
    return PathVerdict(path, None if unknown else bool(passes), why, bool(relaxed))


def _policy_part(domain: str, policy: str, found: dict[str, str], at: str, verdicts: list[PathVerdict],
                 record: str) -> Part:
    source = f" (from _dmarc.{at})" if at != domain else ""
    pct = found.get("pct", "100")
    if policy == "none":
        if not all(v.passes for v in verdicts):
            return Part("record", "weak", f"DMARC policy none{source}: reports only, spoofed mail is still "
                        "delivered", "make every path below pass DMARC before moving to p=quarantine")
        stricter = txt_line(f"_dmarc.{at}", "; ".join(
            "p=quarantine" if p.split("=")[0].strip().lower() == "p" else p.strip() for p in record.split(";")
            if p.strip()))
        return Part("record", "weak", f"DMARC policy none{source}: reports only, spoofed mail is still delivered",
                    f"once reports show SPF and DKIM pass, move to p=quarantine: publish {stricter}", (stricter,))
    if pct.isdigit() and int(pct) < 100:
        return Part("record", "weak", f"DMARC policy {policy}{source} applies to {pct}% of failing mail only",
                    "remove pct= (or set pct=100) once reports are clean")
    return Part("record", "ok", f"DMARC policy {policy}{source}")


def _path_part(domain: str, policy: str, verdict: PathVerdict, record: str, at: str,
               dkim_publish: tuple[str, ...]) -> Part:
    path, enforced = verdict.path, policy in ("quarantine", "reject")
    if verdict.passes:
        return Part(path.name, "ok", f"replies through {path.label} pass DMARC ({verdict.why})")
    if verdict.passes is None:
        return Part(path.name, "unreachable" if enforced else "weak", f"could not tell whether replies through "
                    f"{path.label} pass DMARC: DNS did not answer ({verdict.why})", RETRY)
    outcome = {"reject": "receivers reject them", "quarantine": "receivers put them in spam"}.get(policy,
                                                                                              "reports flag them")
    detail = f"replies through {path.label} are From @{domain} but fail DMARC: {verdict.why}; {outcome}"
    fix, publish = _fix(domain, verdict, record, at, dkim_publish)
    return Part(path.name, "wrong" if enforced else "weak", detail, fix, publish)


def _fix(domain: str, verdict: PathVerdict, record: str, at: str,
         dkim_publish: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    path = verdict.path
    if verdict.relaxed_would_pass:
        relaxed = "; ".join(p.strip() for p in record.split(";") if p.strip()
                            and p.split("=")[0].strip().lower() not in ("aspf", "adkim"))
        line = txt_line(f"_dmarc.{at}", relaxed)
        return f"strict alignment is what fails: publish {line}", (line,)
    if not aligned(path.envelope_domain, domain, "r") and not aligned(path.dkim_domain, domain, "r"):
        return (f"neither {path.envelope_domain} nor d={path.dkim_domain} can align with {domain}: send these "
                "replies through SMTP_RELAY_URL with DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE set (signed "
                f"d={domain}), or from a Gmail mailbox of {domain}"), dkim_publish
    if dkim_publish:
        return f"make DKIM pass for {domain}: publish {dkim_publish[0]} (or fix SPF above)", dkim_publish
    return f"make SPF or DKIM pass for {domain} (see their findings): either one aligned is enough", ()
