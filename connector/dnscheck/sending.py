"""Which paths replies From @DOMAIN take, and the addresses each sends from, as DNS tells them today."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from pathlib import Path

from connector.dnscheck.checks import GOOGLE_DKIM_SELECTOR, GOOGLE_SPF_INCLUDE, Part
from connector.dnscheck.paths import SendingPath
from connector.dnscheck.port import DnsLookup, DnsUnavailable
from connector.dnscheck.spf import LOOKUP_LIMIT, spf_records
from connector.dnscheck.spf_terms import PermError, parse
from connector.outbound.smtp_relay import RelayConfig

RETRY = "check DNS_RESOLVER or the network, then run the check again"
GOOGLE_MX = (".google.com", ".googlemail.com")


@dataclass(frozen=True)
class CheckPlan:
    """What a DNS check assumes about how we send: from the settings, or the command line."""
    via: str = "auto"                       # auto | gmail | relay | both
    gmail_include: str = GOOGLE_SPF_INCLUDE
    gmail_selector: str = GOOGLE_DKIM_SELECTOR
    gmail_mailbox: str = ""                 # a Gmail mailbox of another domain that "sends mail as" DOMAIN
    relay_host: str = ""
    dkim_selector: str = ""
    dkim_private_key: bytes | None = None   # b"" when DKIM_PRIVATE_KEY_FILE cannot be read: reported, not raised

    @classmethod
    def from_settings(cls, settings, **overrides) -> "CheckPlan":
        """SMTP_RELAY_URL's host and the DKIM key relayed replies are signed with (read here, once)."""
        host = RelayConfig.from_url(settings.smtp_relay_url).host if settings.smtp_relay_url else ""
        key = None
        if settings.dkim_selector and settings.dkim_private_key_file:
            try:
                key = Path(settings.dkim_private_key_file).read_bytes()
            except OSError:
                key = b""
        return cls(relay_host=host, dkim_selector=settings.dkim_selector, dkim_private_key=key, **overrides)


def sending_paths(domain: str, plan: CheckPlan, lookup: DnsLookup) -> list[SendingPath]:
    """Gmail when replies go through Gmail (no relay, a Workspace domain, or asked), the relay when set."""
    relay = plan.via in ("relay", "both") or plan.via == "auto" and bool(plan.relay_host)
    gmail = plan.via in ("gmail", "both") or plan.via == "auto" and (
        not plan.relay_host or bool(plan.gmail_mailbox) or _mail_at_google(domain, lookup))
    paths = [_gmail_path(domain, plan, lookup)] if gmail else []
    return paths + ([_relay_path(domain, plan, lookup)] if relay else [])


def _mail_at_google(domain: str, lookup: DnsLookup) -> bool:
    # A Workspace domain's own mailboxes send through Gmail even when a relay is configured.
    try:
        return any(host.endswith(GOOGLE_MX) or host == "smtp.google.com" for host in lookup.mx(domain))
    except DnsUnavailable:
        return True     # unknown: checking one path too many beats hiding one


def _gmail_path(domain: str, plan: CheckPlan, lookup: DnsLookup) -> SendingPath:
    sender_domain = plan.gmail_mailbox.rpartition("@")[2].lower() or domain
    label = f"Gmail's servers ({plan.gmail_include})" + (f" for {plan.gmail_mailbox}" if plan.gmail_mailbox else "")
    path = SendingPath("gmail", label, (), (f"include:{plan.gmail_include}",), sender_domain, sender_domain,
                       plan.gmail_selector)
    try:
        ips = provider_addresses(plan.gmail_include, lookup)
    except DnsUnavailable as exc:
        return _with_problem(path, "unreachable", f"DNS did not answer for {plan.gmail_include} ({exc})", RETRY)
    if not ips:
        return _with_problem(path, "unreachable", f"{plan.gmail_include} gives no address to evaluate: Gmail's "
                             "servers cannot be checked through this resolver", RETRY)
    return replace(path, ips=ips)


def _relay_path(domain: str, plan: CheckPlan, lookup: DnsLookup) -> SendingPath:
    host = plan.relay_host
    signed = plan.dkim_private_key is not None
    path = SendingPath("relay", f"the relay {host or '(SMTP_RELAY_URL not set)'}", (), (), domain,
                       domain if signed else None, plan.dkim_selector if signed else None, plan.dkim_private_key)
    if not host:
        return _with_problem(path, "missing", "SMTP_RELAY_URL is not set, so no reply goes through a relay",
                             "set SMTP_RELAY_URL, or check without --via relay")
    try:
        ips = (str(ipaddress.ip_address(host)),)
    except ValueError:
        try:
            ips = tuple(lookup.addresses(host, 4) + lookup.addresses(host, 6))
        except DnsUnavailable as exc:
            return _with_problem(path, "unreachable", f"DNS did not answer for the relay {host} ({exc})", RETRY)
    if not ips:
        return _with_problem(path, "wrong", f"the relay {host} has no A or AAAA record", "check SMTP_RELAY_URL")
    terms = tuple(f"ip{ipaddress.ip_address(ip).version}:{ip}" for ip in ips)
    return replace(path, ips=ips, spf_terms=terms)


def _with_problem(path: SendingPath, status: str, detail: str, fix: str) -> SendingPath:
    return replace(path, problem=Part(path.name, status, detail, fix))


def provider_addresses(include: str, lookup: DnsLookup) -> tuple[str, ...]:
    """One IPv4 and one IPv6 address a provider's SPF tree authorizes (its first ip4: and ip6: ranges),
    read from DNS today rather than remembered: that is the server a receiver would meet."""
    found: dict[int, str] = {}
    todo, seen = [include.lower()], set()
    while todo and len(seen) <= LOOKUP_LIMIT and len(found) < 2:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        records = spf_records(lookup.txt(name))
        try:
            directives, modifiers = parse(records[0]) if len(records) == 1 else ([], {})
        except PermError:
            continue
        for d in directives:
            if d.name in ("ip4", "ip6") and d.qualifier == "+":
                network = ipaddress.ip_network(d.target)
                found.setdefault(network.version, str(network.network_address))
            elif d.name == "include" and d.target and "%" not in d.target:
                todo.append(d.target.lower())
        if "redirect" in modifiers and "%" not in modifiers["redirect"]:
            todo.append(modifiers["redirect"].lower())
    return tuple(found[v] for v in sorted(found))
