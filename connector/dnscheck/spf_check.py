"""SPF judged as a receiver judges it, for each path our replies take, with the one record to publish."""
from __future__ import annotations

from connector.dnscheck.checks import Finding, Part, combine, txt_line
from connector.dnscheck.paths import SendingPath
from connector.dnscheck.port import DnsLookup, DnsUnavailable
from connector.dnscheck.spf import LOOKUP_LIMIT, SpfResult, check_host, spf_records
from connector.dnscheck.spf_terms import PermError, parse

# TEST-NET addresses (RFC 5737, RFC 3849) never send real mail: evaluating them walks the whole
# tree to its final all, which is what every server not listed meets (and where limits overflow).
NOWHERE = ("192.0.2.1", "2001:db8::1")
_DEFAULT_ALL = {"fail": "-all", "softfail": "~all", "neutral": "?all (or no all)", "pass": "+all"}


def check_spf(domain: str, paths: list[SendingPath], lookup: DnsLookup) -> tuple[Finding, dict[str, str]]:
    """The SPF finding, and each path's SPF result (pass, fail, ..., unknown) for the DMARC check."""
    try:
        found = spf_records(lookup.txt(domain))
    except DnsUnavailable as exc:
        part = Part("record", "unreachable", f"DNS did not answer for {domain}'s SPF record ({exc})",
                    "check DNS_RESOLVER or the network, then run the check again")
        return combine("spf", None, [part]), {p.name: "unknown" for p in paths}
    evaluated = {p.name: [check_host(ip, p.envelope_domain, lookup) for ip in p.ips] for p in paths
                 if p.problem is None}
    needed = [t for p in paths if p.problem is None and p.envelope_domain == domain
              and any(r.result != "pass" for r in evaluated[p.name]) for t in p.spf_terms]
    full = check_host(NOWHERE[0], domain, lookup)
    line = txt_line(domain, suggest(found, needed, overflow=_overflowed(full)))
    parts = [p.problem or _path_part(p, evaluated[p.name], domain, line) for p in paths]
    if found:
        parts.append(_record_part(domain, full, line))
    outcomes = {p.name: _outcome(evaluated.get(p.name)) for p in paths}
    return combine("spf", " | ".join(found) or None, parts, (line,)), outcomes


def _path_part(path: SendingPath, results: list[SpfResult], domain: str, line: str) -> Part:
    env, terms = path.envelope_domain, " ".join(path.spf_terms)
    fix = f"publish {line}" if env == domain else f"add {terms} to the SPF record of {env}"
    by_result = {r.result: r for r in reversed(results)}      # the first address with each result
    if bad := by_result.get("temperror"):
        return Part(path.name, "unreachable", f"DNS did not answer while evaluating SPF for {bad.ip} ({bad.reason})",
                    "check DNS_RESOLVER or the network, then run the check again")
    if "none" in by_result:
        return Part(path.name, "missing", f"{env} publishes no SPF record, so {path.label} is not authorized", fix)
    if bad := by_result.get("permerror"):
        return Part(path.name, "wrong", f"SPF permerror for {path.label} ({bad.ip}): {bad.reason}; receivers "
                    "treat the mail as unauthenticated", fix)
    failed = next((r for r in results if r.result != "pass"), None)
    if failed:
        return Part(path.name, "wrong", f"{path.label} ({failed.ip}) gets SPF {failed.result} from {env} "
                    f"({failed.reason}), so mail sent through it fails SPF", fix)
    first = results[0]
    return Part(path.name, "ok", f"{path.label} passes ({first.reason}; {first.lookups} of {LOOKUP_LIMIT} lookups)")


def _record_part(domain: str, full: SpfResult, line: str) -> Part:
    if full.result == "temperror":
        return Part("record", "unreachable", f"DNS did not answer while following {domain}'s SPF in full "
                    f"({full.reason}): its lookup count and final all are unknown",
                    "check DNS_RESOLVER or the network, then run the check again")
    if full.result == "permerror":
        fix = (f"receivers stop at {LOOKUP_LIMIT} DNS lookups: drop the includes you do not send through or "
               f"replace them with ip4:/ip6: ranges; the smallest record for our replies is {line}"
               if _overflowed(full) else f"correct the record, e.g. publish {line}")
        return Part("record", "wrong", f"evaluated in full, {domain}'s SPF is a permerror ({full.reason}): every "
                    "server not matched before that fails authentication", fix)
    ending = _DEFAULT_ALL.get(full.result, full.result)
    if full.result == "pass":
        return Part("record", "weak", f"{domain}'s SPF ends in +all: anyone may send as {domain}",
                    f"end it with ~all or -all: publish {line}")
    if full.result == "neutral":
        return Part("record", "weak", f"{domain}'s SPF ends in {ending}: mail from any other server is neither "
                    "authorized nor refused", f"end it with ~all or -all: publish {line}")
    return Part("record", "ok", f"{domain}'s SPF ends in {ending}, {full.lookups} of {LOOKUP_LIMIT} lookups "
                f"in full, {full.void_lookups} void")


def _overflowed(full: SpfResult) -> bool:
    return full.result == "permerror" and full.overflow


def _outcome(results: list[SpfResult] | None) -> str:
    if not results:
        return "unknown"
    if any(r.result == "temperror" for r in results):
        return "unknown"
    return next((r.result for r in results if r.result != "pass"), "pass")


def suggest(found: list[str], needed: list[str], overflow: bool = False) -> str:
    """The one SPF record to publish: the current one (several merged) with the missing terms added
    before its final all, ending in ~all unless it already ends in -all; only ours when it overflows."""
    if not found or overflow:
        return " ".join(["v=spf1", *dict.fromkeys(needed or ["include:_spf.google.com"]), "~all"])
    terms = found[0].split()[1:]
    for other in found[1:]:
        terms += [t for t in other.split()[1:] if _bare(t) != "all" and "=" not in t and t not in terms]
    present = {_bare(t) for t in terms}
    add = [t for t in dict.fromkeys(needed) if t.lower() not in present]
    at = next((i for i, t in enumerate(terms) if _bare(t) == "all" or "=" in t), len(terms))
    terms[at:at] = add
    ending = next((i for i, t in enumerate(terms) if _bare(t) == "all"), None)
    if ending is not None and not terms[ending].startswith("-"):
        terms[ending] = "~all"          # +all, all and ?all authorize or shrug at everyone else
    elif ending is None and not _redirects(found[0]):
        terms.append("~all")
    return " ".join(["v=spf1", *terms])


def _bare(term: str) -> str:
    return term.lstrip("+-~?").lower()


def _redirects(record: str) -> bool:
    try:
        return "redirect" in parse(record)[1]
    except PermError:
        return False
