"""The composition root: settings in, a wired `Runtime` out, and the daemon's parts. Nothing else builds adapters.

`bootstrap()` builds what every command needs (store, Gmail access, ticketing, outbound senders);
`daemon_parts()` adds what `gmail-connector run` starts: the scheduler with its job list and the
SMTP receiver. Jobs receive the Runtime as their collaborators (jobs/collaborators.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from sqlalchemy.engine import Engine

from connector.admin.attachment_links import links_for
from connector.gmail.usage import ApiUsage
from connector.gmail.google import GoogleGmail
from connector.gmail.port import GmailGateway
from connector.inbound.server import InboundServer
from connector.outbound.senders import Outbound
from connector.helpdesk.config import missing_settings
from connector.helpdesk.django_helpdesk import DjangoHelpdesk
from connector.helpdesk.freescout import FreeScout
from connector.helpdesk.freshdesk import Freshdesk
from connector.helpdesk.port import Helpdesk
from connector.helpdesk.rt import RequestTracker
from connector.helpdesk.webhook import SignedWebhook
from connector.helpdesk.zammad import Zammad
from connector.helpdesk.zendesk import Zendesk
from connector.pubsub.google import GooglePubSub
from connector.settings import Settings, SettingsError
from connector.store.db import make_engine, upgrade
from connector.store.private_files import restrict_tree
from connector.ticketing.reader import InlineReader, MailReader
from connector.ticketing.reader_pool import MailReaderPool
from connector.ticketing.ticket_mail import Ticketing
from jobs.daemon import Daemon, PeriodicJob
from jobs.deliver_events import deliver_events
from jobs.dns_health import DNS_HEALTH_SECONDS, check_dns_health
from jobs.forwarding import check_forwarding, recheck_forwarding_daily
from jobs.pull_agent_replies import pull_agent_replies
from jobs.push_listener import PushListener
from jobs.push_watch import stop_unsynced_watches
from jobs.retry_pending import retry_pending_smtp
from jobs.send_reply import send_pending
from jobs.sweep_agent_replies import SWEEP_SECONDS, sweep_agent_replies
from oauth.gmail_access import GmailAccess
from oauth.vault import Vault, open_vault


@dataclass
class Runtime:
    """Everything a command or job needs, built once from the settings."""
    settings: Settings
    engine: Engine
    gateway_factory: Callable[..., GmailGateway] | None = field(default=None, repr=False)
    # Calls and quota units per method and inbox, counted in-process for /status and /metrics.
    usage: ApiUsage = field(default_factory=ApiUsage, repr=False)
    # How stored mail is read: in worker processes with time and memory limits in the daemon,
    # in this process for one-shot commands.
    reader: MailReader = field(default_factory=InlineReader, repr=False)
    # Tests hand in a helpdesk of their own; otherwise HELPDESK chooses the adapter.
    helpdesk_factory: Callable[[Settings], Helpdesk | None] | None = field(default=None, repr=False)

    @cached_property
    def ticketing(self) -> Ticketing:
        """Stored mail to tickets, the same way for every source (Gmail, SMTP, retry, recover)."""
        read_ahead = self.settings.parse_workers if isinstance(self.reader, MailReaderPool) else 0
        return Ticketing(engine=self.engine, reader=self.reader, attachments_dir=self.settings.attachments_dir,
                         attachment_max_bytes=self.settings.attachment_max_bytes, read_ahead=read_ahead,
                         outbox=self.settings.helpdesk != "builtin")

    @cached_property
    def outbound(self) -> Outbound:
        """The relay and DKIM key for replies, read once (not at every pass of the reply queue)."""
        return Outbound.from_settings(self.settings)

    @cached_property
    def helpdesk(self) -> Helpdesk | None:
        """Where tickets are delivered; None for the built-in store (HELPDESK=builtin)."""
        return (self.helpdesk_factory or build_helpdesk)(self.settings)

    def close(self) -> None:
        """Stop what the runtime started (the reader's worker processes, the helpdesk's connections)."""
        self.reader.close()
        if "helpdesk" in self.__dict__ and self.helpdesk is not None:
            self.helpdesk.close()

    @cached_property
    def vault(self) -> Vault:
        return open_vault(self.settings.token_encryption_key, self.settings.data_dir)

    @cached_property
    def gmail(self) -> GmailAccess:
        """Stored grants to Gmail clients (oauth/gmail_access.py)."""
        return GmailAccess(self.engine, self.settings, self._build_gateway)

    @property
    def token_uri(self) -> str | None:
        return self.gmail.token_uri

    def credentials_for(self, address: str):
        return self.gmail.credentials_for(address)

    def open_gateway(self, address: str) -> GmailGateway:
        return self.gmail.open_gateway(address)

    def gateway_for(self, credentials, address: str | None = None) -> GmailGateway:
        return self.gmail.gateway_for(credentials, address)

    def _build_gateway(self, credentials, address: str | None, token_failure) -> GmailGateway:
        # A test's factory (the sandbox with fake sleeps) replaces the real adapter, same rules.
        if self.gateway_factory is not None:
            return self.gateway_factory(credentials, self.settings, on_token_failure=token_failure)
        on_call = self.usage.recorder(address) if address else None
        return GoogleGmail.from_credentials(credentials, self.settings, on_call=on_call,
                                            on_token_failure=token_failure)


def bootstrap(settings: Settings, *, migrate: bool = True, isolated_reading: bool = False) -> Runtime:
    """The runtime of one process. `isolated_reading`: read stored mail in worker processes with time
    and memory limits (the daemon, and any command that reads mail anyone could have sent)."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Runtime(settings=settings, engine=engine, reader=mail_reader(settings) if isolated_reading else InlineReader())


def build_helpdesk(settings: Settings) -> Helpdesk | None:
    """The adapter HELPDESK names, from its settings (checked by connector/helpdesk/config.py)."""
    if settings.helpdesk == "builtin":
        return None
    problems = missing_settings(settings)
    if problems:
        raise SettingsError("; ".join(problems))
    build = _ADAPTERS.get(settings.helpdesk)
    if build is None:
        raise SettingsError(f"HELPDESK={settings.helpdesk} is not available in this build")
    try:
        return build(settings)
    except ValueError as exc:           # an adapter's own check of its URL and credentials: one line
        raise SettingsError(str(exc)) from None


_ADAPTERS: dict[str, Callable[[Settings], Helpdesk]] = {
    "rt": lambda s: RequestTracker(s.rt_url, user=s.rt_user, password=s.rt_password, token=s.rt_token),
    "webhook": lambda s: SignedWebhook(s.webhook_url, s.webhook_secret, inline_max_bytes=s.webhook_inline_max_bytes,
                                       link_for=links_for(s)),
    "django_helpdesk": lambda s: DjangoHelpdesk(s.django_helpdesk_url, user=s.django_helpdesk_user,
                                                password=s.django_helpdesk_password, token=s.django_helpdesk_token,
                                                webhook_secret=s.helpdesk_webhook_secret),
    "zendesk": lambda s: Zendesk(s.zendesk_url, s.zendesk_email, s.zendesk_api_token,
                                 webhook_secret=s.helpdesk_webhook_secret),
    "zammad": lambda s: Zammad(s.zammad_url, s.zammad_token, webhook_secret=s.helpdesk_webhook_secret),
    "freshdesk": lambda s: Freshdesk(s.freshdesk_url, s.freshdesk_api_key, webhook_secret=s.helpdesk_webhook_secret),
    "freescout": lambda s: FreeScout(s.freescout_url, s.freescout_api_key, webhook_secret=s.helpdesk_webhook_secret),
}


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
            PeriodicJob("dns-health", DNS_HEALTH_SECONDS, lambda: check_dns_health(runtime)),
            PeriodicJob("helpdesk-delivery", 2, lambda: deliver_events(runtime)),
            PeriodicJob("helpdesk-replies", 5, lambda: pull_agent_replies(runtime)),
            PeriodicJob("helpdesk-replies-sweep", SWEEP_SECONDS, lambda: sweep_agent_replies(runtime))] + (
        [PeriodicJob("push-stop-unsynced", 60, lambda: stop_unsynced_watches(runtime))]
        if runtime.settings.push_enabled else [])


@dataclass(frozen=True)
class DaemonParts:
    """What `gmail-connector run` starts and stops, in this order (the admin endpoint comes last)."""
    scheduler: Daemon
    receiver: InboundServer
    push: PushListener | None = None        # with PUBSUB_TOPIC and PUBSUB_SUBSCRIPTION set


def daemon_parts(runtime: Runtime) -> DaemonParts:
    # Mail and keys written by an older version may be 0644: closed once, before anything runs.
    restrict_tree(runtime.settings.data_dir)
    daemon = Daemon(runtime, periodic=periodic_jobs(runtime))
    push = None
    if runtime.settings.push_enabled:
        push = PushListener(runtime, lambda: GooglePubSub.from_settings(runtime.settings), daemon.held_idle,
                            daemon.notify)
        daemon.push = push
    return DaemonParts(scheduler=daemon, receiver=InboundServer(runtime), push=push)
