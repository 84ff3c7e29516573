"""The composition root: settings in, a wired `Runtime` out, and the daemon's parts. Nothing else builds adapters.

`bootstrap()` builds what every command needs (store, Gmail access, ticketing, outbound senders);
`daemon_parts()` adds what `gmail-connector run` starts: the scheduler with its job list and the
SMTP receiver. Jobs receive the Runtime as their collaborators (jobs/collaborators.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
import hashlib
from typing import Any, Callable

from sqlalchemy.engine import Engine

from connector.gmail.usage import ApiUsage
from connector.gmail.port import AuthRevoked, GmailGateway
from connector.inbound.server import InboundServer
from connector.outbound.senders import Outbound
from connector.settings import Settings
from connector.store.db import make_engine, session_scope, upgrade
from connector.store.inboxes import get_inbox
from connector.store.service_accounts import domain_of, service_account_key, stored_credential
from oauth.credentials import CredentialsError, load_authorized_user
from oauth.service_account import impersonate
from connector.ticketing.reader import InlineReader, MailReader
from connector.ticketing.reader_pool import MailReaderPool
from connector.ticketing.ticket_mail import Ticketing
from jobs.daemon import Daemon, PeriodicJob
from jobs.dns_health import DNS_HEALTH_SECONDS, check_dns_health
from jobs.forwarding import check_forwarding, recheck_forwarding_daily
from jobs.retry_pending import retry_pending_smtp
from jobs.send_reply import send_pending
from oauth.vault import Vault, open_vault


@dataclass
class Runtime:
    """Everything a command or job needs, built once from the settings."""
    settings: Settings
    engine: Engine
    gateway_factory: Callable[..., GmailGateway] | None = field(default=None, repr=False)
    # Calls and quota units per method and inbox, counted in-process for /status and /metrics.
    usage: ApiUsage = field(default_factory=ApiUsage, repr=False)
    # Credentials per inbox, reused while the stored grant is unchanged: google-auth then refreshes
    # the access token once an hour instead of at every pass.
    _credentials: dict[str, tuple[str, Any]] = field(default_factory=dict, repr=False)
    # How stored mail is read: in worker processes with time and memory limits in the daemon,
    # in this process for one-shot commands.
    reader: MailReader = field(default_factory=InlineReader, repr=False)

    @cached_property
    def ticketing(self) -> Ticketing:
        """Stored mail to tickets, the same way for every source (Gmail, SMTP, retry, recover)."""
        read_ahead = self.settings.parse_workers if isinstance(self.reader, MailReaderPool) else 0
        return Ticketing(engine=self.engine, reader=self.reader, attachments_dir=self.settings.attachments_dir,
                         attachment_max_bytes=self.settings.attachment_max_bytes, read_ahead=read_ahead)

    @cached_property
    def outbound(self) -> Outbound:
        """The relay and DKIM key for replies, read once (not at every pass of the reply queue)."""
        return Outbound.from_settings(self.settings)

    def close(self) -> None:
        """Stop what the runtime started (the reader's worker processes)."""
        self.reader.close()

    @cached_property
    def vault(self) -> Vault:
        return open_vault(self.settings.token_encryption_key, self.settings.data_dir)

    @property
    def token_uri(self) -> str | None:
        """Refreshes go to the sandbox when the API does; otherwise google-auth's own default."""
        endpoint = self.settings.gmail_api_endpoint
        return f"{endpoint}/token" if endpoint else None

    def credentials_for(self, address: str):
        """google-auth credentials for a connected inbox: its own sealed grant, or its domain's key."""
        with session_scope(self.engine) as session:
            inbox = get_inbox(session, address)
            if inbox is None:
                raise LookupError(f"no connected inbox {address}")
            address = inbox.address
            stored = stored_credential(session, inbox)
            domain_key = None
            if stored is None and inbox.credential_kind == "service_account":
                domain_key = service_account_key(session, domain_of(address))
            kind = stored.kind if stored is not None else inbox.credential_kind
            ciphertext = stored.secret_ciphertext if stored is not None else (
                domain_key.secret_ciphertext if domain_key is not None else None)
        if ciphertext is None:
            raise AuthRevoked(_no_grant_text(address, kind))
        fingerprint = f"{kind}:{hashlib.sha256(bytes(ciphertext)).hexdigest()}"
        cached = self._credentials.get(address)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        credentials = self._build_credentials(address, kind, ciphertext)
        self._credentials[address] = (fingerprint, credentials)
        return credentials

    def _build_credentials(self, address: str, kind: str, ciphertext: bytes):
        # A grant is stored, so a missing key file is an error; a fresh key could never open it.
        info = open_vault(self.settings.token_encryption_key, self.settings.data_dir, create=False).open(ciphertext)
        try:
            if kind == "service_account":
                return impersonate(info, address, self.token_uri)
            return load_authorized_user(info, token_uri_override=self.token_uri)
        except CredentialsError as exc:
            raise AuthRevoked(f"stored credentials for {address} are unusable: {exc}") from exc

    def open_gateway(self, address: str) -> GmailGateway:
        """A fresh adapter per pass: httplib2 connections are not shared between threads."""
        return self.gateway_for(self.credentials_for(address), address)

    def gateway_for(self, credentials, address: str | None = None) -> GmailGateway:
        """The Gmail port for any google-auth credentials (also ones not stored yet, during consent)."""
        if self.gateway_factory is not None:
            return self.gateway_factory(credentials, self.settings)
        from connector.gmail.google import GoogleGmail

        on_call = self.usage.recorder(address) if address else None
        return GoogleGmail.from_credentials(credentials, self.settings, on_call=on_call)


def _no_grant_text(address: str, kind: str) -> str:
    if kind == "service_account":
        domain = domain_of(address)
        return (f"no service-account key stored for {domain}: run "
                f"`gmail-connector auth add-service-account KEY.json --domain {domain}`")
    return (f"no stored credentials for {address}: run "
            f"`gmail-connector auth add {address} --client-secrets client_secret.json`")


def bootstrap(settings: Settings, *, migrate: bool = True, isolated_reading: bool = False) -> Runtime:
    """The runtime of one process. `isolated_reading`: read stored mail in worker processes with time
    and memory limits (the daemon, and any command that reads mail anyone could have sent)."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Runtime(settings=settings, engine=engine, reader=mail_reader(settings) if isolated_reading else InlineReader())


def mail_reader(settings: Settings) -> MailReader:
    """Worker processes reading mail within PARSE_TIMEOUT_SECONDS and PARSE_MEMORY_MB, replaced when they die."""
    return MailReaderPool(workers=settings.parse_workers, timeout_seconds=settings.parse_timeout_seconds,
                          memory_bytes=settings.parse_memory_mb << 20)


def periodic_jobs(runtime: Runtime) -> list[PeriodicJob]:
    """The plain-function jobs the daemon runs beside the per-inbox syncs, each handed the runtime."""
    return [PeriodicJob("send-replies", 15, lambda: send_pending(runtime)),
            PeriodicJob("smtp-retry", 60, lambda: retry_pending_smtp(runtime)),
            PeriodicJob("forwarding-check", 30, lambda: check_forwarding(runtime)),
            PeriodicJob("forwarding-recheck", 86400, lambda: recheck_forwarding_daily(runtime)),
            PeriodicJob("dns-health", DNS_HEALTH_SECONDS, lambda: check_dns_health(runtime))]


@dataclass(frozen=True)
class DaemonParts:
    """What `gmail-connector run` starts and stops, in this order (the admin endpoint comes last)."""
    scheduler: Daemon
    receiver: InboundServer


def daemon_parts(runtime: Runtime) -> DaemonParts:
    return DaemonParts(scheduler=Daemon(runtime, periodic=periodic_jobs(runtime)), receiver=InboundServer(runtime))
