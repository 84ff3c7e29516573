"""DKIM: each signing path's selector is published, usable, and (for our own key) the key we sign with."""
from __future__ import annotations

from connector.dnscheck.checks import Finding, Part, combine, txt_line
from connector.dnscheck.dkim_keys import UnusableKey, public_key_of, published_key, record_value, same_key
from connector.dnscheck.paths import SendingPath
from connector.dnscheck.port import DnsLookup, DnsUnavailable

# Consumer Gmail signs with gmail.com's own key: nothing of ours to check there.
GOOGLE_OWNED = ("gmail.com", "googlemail.com")
GOOGLE_FIX = ("generate a DKIM key (Google Admin console > Apps > Google Workspace > Gmail > Authenticate email), "
              "publish the TXT record it shows at {name}, then start authentication")


def check_dkim(domain: str, paths: list[SendingPath], lookup: DnsLookup) -> tuple[Finding, dict[str, str]]:
    """The DKIM finding, and each path's DKIM outcome (pass, fail, unsigned, unknown) for DMARC."""
    parts, outcomes, records, publish = [], {}, [], []
    for path in paths:
        if path.dkim_domain is None:
            parts.append(Part(path.name, "weak", f"replies through {path.label} are not DKIM-signed, so DMARC "
                              "rests on SPF alone (which forwarding breaks)", "set DKIM_SELECTOR and "
                              f"DKIM_PRIVATE_KEY_FILE, then publish the key at SELECTOR._domainkey.{domain}"))
            outcomes[path.name] = "unsigned"
        elif path.dkim_domain in GOOGLE_OWNED:
            outcomes[path.name] = "pass"
        else:
            part, outcome, found, line = _selector_part(path, lookup)
            parts.append(part)
            outcomes[path.name] = outcome
            records += found
            publish += [line] if line and (part.status != "ok" or path.dkim_private_key) else []
    if not parts:
        parts = [Part("gmail", "ok", "Gmail signs with its own key (d=gmail.com)")]
    return combine("dkim", " | ".join(records) or None, parts, tuple(dict.fromkeys(publish))), outcomes


def _selector_part(path: SendingPath, lookup: DnsLookup) -> tuple[Part, str, list[str], str | None]:
    name = f"{path.dkim_selector}._domainkey.{path.dkim_domain}"
    ours = path.dkim_private_key is not None
    try:
        expected = public_key_of(path.dkim_private_key) if ours else None
    except UnusableKey as exc:
        return Part(path.name, "wrong", f"{exc}: relayed replies cannot be signed", "point DKIM_PRIVATE_KEY_FILE "
                    "at the PEM private key whose public half is published"), "fail", [], None
    line = txt_line(name, record_value(expected)) if ours else \
        txt_line(name, "v=DKIM1; k=rsa; p=<the key Google Admin shows>")
    fix = f"publish {line}" if ours else GOOGLE_FIX.format(name=name)
    try:
        found = [r for r in lookup.txt(name) if "p=" in r.replace(" ", "")]
    except DnsUnavailable as exc:
        return Part(path.name, "unreachable", f"DNS did not answer for {name} ({exc})",
                    "check DNS_RESOLVER or the network, then run the check again"), "unknown", [], line
    if not found:
        return Part(path.name, "missing", f"no DKIM key at {name}", fix), "fail", [], line
    if len(found) > 1:
        return Part(path.name, "wrong", f"{name} publishes {len(found)} DKIM keys: receivers may pick either",
                    f"keep only one: {fix}" if ours else f"keep only the one Google Admin shows at {name}"), \
            "fail", found, line
    try:
        published = published_key(found[0])
    except UnusableKey as exc:
        return Part(path.name, "wrong", f"the DKIM key at {name} is unusable: {exc}", fix), "fail", found, line
    if published is None:
        return Part(path.name, "wrong", f"the DKIM key at {name} is empty (revoked)", fix), "fail", found, line
    if ours and not same_key(published, expected):
        return Part(path.name, "wrong", f"the key published at {name} does not match DKIM_PRIVATE_KEY_FILE: "
                    "every relayed reply's signature fails", fix), "fail", found, line
    detail = f"DKIM key at {name} matches DKIM_PRIVATE_KEY_FILE" if ours else f"DKIM key published at {name}"
    return Part(path.name, "ok", detail), "pass", found, line
