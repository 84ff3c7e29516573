"""Every setting of the daemon, declared once here and read once from the environment and .env.

Each field below is the whole declaration of one setting: its environment key (the field's name in
capitals), default, section, doc and parser. `from_mapping`, `describe` and `env_example` are all
driven by these declarations, and `.env.example` is `env_example()`'s output; regenerate it with
`python -m connector.settings > .env.example` (a test fails when the two differ).
The rest of the code receives a frozen `Settings` and never reads `os.environ` itself.
"""
from __future__ import annotations

import os
import textwrap
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from dotenv import dotenv_values

Parser = Callable[[str, str], Any]          # (key, raw text) -> value, or SettingsError

ENV_HEADER = """\
# gmail-connector settings. Copy to .env (read from the working directory, or --env-file FILE);
# variables in the environment win over this file. Every key is optional: the value shown is the default.
"""


class SettingsError(ValueError):
    """A setting has a value the daemon cannot use; the message names the key."""


def _text(key: str, raw: str) -> str:
    return raw.strip()


def _path(key: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _url(key: str, raw: str) -> str:
    return raw.strip().rstrip("/")          # so callers can append "/gmail/v1/..." safely


def _relay_url(key: str, raw: str) -> str:
    value = raw.strip()
    if value and not value.startswith(("smtp://", "smtps://")):
        raise SettingsError(f"{key} must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
    return value


def _int(key: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{key} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{key} must be at least {minimum}, not {value}")
    return value


def _whole(minimum: int) -> Parser:
    return lambda key, raw: _int(key, raw, minimum)


def _one_of(*allowed: str, upper: bool = False) -> Parser:
    def parse(key: str, raw: str) -> str:
        raw = raw.upper() if upper else raw
        if raw.strip() not in allowed:
            raise SettingsError(f"{key} must be one of {', '.join(allowed)}, not {raw!r}")
        return raw.strip()
    return parse


def _bind(key: str, raw: str) -> tuple[str, int]:
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host:
        raise SettingsError(f"{key} must look like HOST:PORT, not {raw!r}")
    return host.strip("[]"), _int(key, port)


def setting(default: Any, section: str, doc: str, parse: Parser = _text, *,
            secret: bool = False, empty_is_a_value: bool = False) -> Any:
    """The one declaration of a setting. An empty value means the default unless `empty_is_a_value`."""
    meta = {"section": section, "doc": doc, "parse": parse, "secret": secret, "empty": empty_is_a_value}
    return field(default=default, repr=not secret, metadata=meta)


GENERAL, SYNC, READING, ADMIN = "General", "Inbox sync", "Reading mail", "Admin endpoint"
INBOUND, SECRETS, DNS = "Inbound SMTP (forwarded mail)", "Secrets", "DNS"
RELAY = "Replies through an SMTP relay (external addresses received by forwarding)"
LEASES = "Several daemons on one PostgreSQL"
PUSH = "Real-time mail: Gmail push through Cloud Pub/Sub (docs/google-setup.md)"
HELPDESK, RT, WEBHOOK = "Helpdesk destination", "Request Tracker (HELPDESK=rt)", "Signed webhook (HELPDESK=webhook)"
HELPDESKS = ("builtin", "rt", "webhook", "django_helpdesk", "zendesk", "zammad", "freshdesk", "freescout")
DJANGO_HELPDESK, ZENDESK, ZAMMAD = ("django-helpdesk (HELPDESK=django_helpdesk)", "Zendesk (HELPDESK=zendesk)",
                                    "Zammad (HELPDESK=zammad)")
FRESHDESK, FREESCOUT = "Freshdesk (HELPDESK=freshdesk)", "FreeScout (HELPDESK=freescout)"


def _queue_map(key: str, raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        group, sep, queue = item.partition("=")
        if not sep or not group.strip() or not queue.strip():
            raise SettingsError(f"{key} must look like Group=Queue,Group=Queue, not {item!r}")
        pairs.append((group.strip(), queue.strip()))
    return tuple(pairs)


def _pubsub_name(kind: str) -> Parser:
    def parse(key: str, raw: str) -> str:
        value = raw.strip()
        parts = value.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != kind or not parts[1] or not parts[3]:
            raise SettingsError(f"{key} must look like projects/PROJECT/{kind}/NAME, not {raw!r}")
        return value
    return parse


def _yes_no(key: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{key} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting(Path("data"), GENERAL, "Where the SQLite database, attachments and the token key "
                             "file live.", _path)
    database_url: str = setting("", GENERAL, "SQLAlchemy URL of the store. Empty: "
                                "sqlite:///DATA_DIR/connector.db (WAL mode).\n"
                                "PostgreSQL: postgresql://user:password@host:5432/dbname")
    gmail_api_endpoint: str = setting("", GENERAL, "Base URL of the Gmail API. Empty: Google "
                                      "(https://gmail.googleapis.com). Set to the sandbox's URL (printed by "
                                      "`gmail-connector sandbox`) to use the local Gmail sandbox; token refreshes "
                                      "then go there too.", _url)
    log_level: str = setting("INFO", GENERAL, "DEBUG, INFO, WARNING, ERROR or CRITICAL.",
                             _one_of("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", upper=True))
    poll_interval_seconds: int = setting(30, SYNC, "Seconds between two sync passes of an inbox "
                                         "(per-inbox override: inboxes add --poll-interval).", _whole(1))
    backfill_days: int = setting(7, SYNC, "First connection: how many days back to import unread inbox mail "
                                 "(0: import nothing old, start from now).", _whole(0))
    backfill_max: int = setting(500, SYNC, "First connection: the most old messages imported "
                                "(0: import nothing old, start from now).", _whole(0))
    imported_label: str = setting("Helpdesk/Imported", SYNC, "Gmail label put on every imported message "
                                  "(empty: do not label).", empty_is_a_value=True)
    after_import: str = setting("none", SYNC, "What else to do in Gmail after import: none, mark_read or archive.",
                                _one_of("none", "mark_read", "archive"))
    attachment_max_bytes: int = setting(50 * 1024 * 1024, SYNC, "Attachments larger than this many bytes are replaced "
                                        "by a note on the ticket (default 50 MB).", _whole(1))
    parse_workers: int = setting(2, READING, "Worker processes that read stored mail.", _whole(1))
    parse_timeout_seconds: int = setting(20, READING, "A message taking longer than this to read is held back "
                                         "as too complex.", _whole(1))
    parse_memory_mb: int = setting(1024, READING, "Memory limit of each reader process, in MB.", _whole(64))
    admin_bind: tuple[str, int] = setting(("127.0.0.1", 8080), ADMIN, "Where `gmail-connector run` serves /healthz, "
                                          "/status, /metrics and the dashboard.", _bind)
    admin_token: str = setting("", ADMIN, "Bearer token for everything but /healthz. Required to bind a "
                               "non-loopback address.", secret=True)
    admin_allowed_hosts: str = setting("", ADMIN, "Extra Host names the admin endpoint answers to (comma-separated), "
                                       "besides localhost, 127.0.0.1, [::1] and ADMIN_BIND's host; any other name "
                                       "gets 400 (protection against DNS rebinding). With ADMIN_BIND on a non-loopback "
                                       "address and ADMIN_TOKEN set, leaving this empty accepts any name.")
    admin_max_body_bytes: int = setting(32 * 1024 * 1024, ADMIN, "Largest reply (with its attachments) the admin "
                                        "API accepts, in bytes, from a caller holding the token; any other "
                                        "request body is capped at 1 MiB. Larger bodies get 413 before they are "
                                        "read.", _whole(1024))
    health_min_free_bytes: int = setting(50 * 1000 * 1000, ADMIN, "/healthz fails when DATA_DIR has less free "
                                         "space than this many bytes.", _whole(0))
    smtp_inbound_bind: tuple[str, int] = setting(("127.0.0.1", 2525), INBOUND, "Where the SMTP server for forwarded "
                                                 "mail listens.", _bind)
    inbound_domain: str = setting("", INBOUND, "Domain of the helpdesk's own support addresses "
                                  "(e.g. helpdesk.example.com).")
    inbound_max_bytes: int = setting(35 * 1024 * 1024, INBOUND, "Largest message accepted over SMTP, in bytes "
                                     "(35 MB).", _whole(1024))
    smtp_data_idle_seconds: int = setting(60, INBOUND, "Silence allowed while a message is being received, "
                                          "in seconds.", _whole(1))
    smtp_command_timeout_seconds: int = setting(30, INBOUND, "Seconds allowed for each complete command line.",
                                                _whole(1))
    smtp_max_connections: int = setting(100, INBOUND, "Most SMTP clients connected at once.", _whole(1))
    smtp_max_connections_per_peer: int = setting(20, INBOUND, "Most SMTP connections at once from one IP address.",
                                                 _whole(1))
    token_encryption_key: str = setting("", SECRETS, "Fernet key (32 url-safe base64 bytes) sealing refresh tokens "
                                        "and service-account keys at rest.\nEmpty: a key file "
                                        "DATA_DIR/token-encryption.key is created with mode 0600 on first use.",
                                        secret=True)
    dns_resolver: str = setting("", DNS, "Resolver for `dns check` as HOST[:PORT] (empty: the system's resolvers).")
    smtp_relay_url: str = setting("", RELAY, "smtp://user:password@host:587 uses STARTTLS (a password is never sent "
                                  "without it);\nsmtps://user:password@host:465 uses implicit TLS. Percent-encode "
                                  "@ : / in the user or password.\nIt also carries `forwarding verify`'s test mail when "
                                  "no Gmail inbox of ours reads mail directly, and every reply from an address "
                                  "at another provider or a Gmail address connected for forwarding only.\n"
                                  "Empty: such replies fail with this hint.",
                                  _relay_url, secret=True)
    dkim_selector: str = setting("", RELAY, "DKIM-sign relayed replies (d= the From's domain) when both this and "
                                 "DKIM_PRIVATE_KEY_FILE are set; publish the public key at "
                                 "SELECTOR._domainkey.DOMAIN.")
    dkim_private_key_file: str = setting("", RELAY, "PEM file holding the private key for DKIM_SELECTOR.")
    lease_ttl_seconds: int = setting(90, LEASES, "How long an inbox lease outlives its daemon's last heartbeat: a "
                                     "daemon that dies has its inboxes taken over by the others within this many "
                                     "seconds.", _whole(3))
    pubsub_topic: str = setting("", PUSH, "The Pub/Sub topic Gmail publishes mailbox changes to "
                                "(users.watch), as projects/PROJECT/topics/NAME. With PUBSUB_SUBSCRIPTION set "
                                "too, every active inbox is watched and synced within seconds of new mail.",
                                _pubsub_name("topics"))
    pubsub_subscription: str = setting("", PUSH, "The pull subscription of PUBSUB_TOPIC the daemon reads, as "
                                       "projects/PROJECT/subscriptions/NAME (all daemons share it).",
                                       _pubsub_name("subscriptions"))
    pubsub_credentials_file: str = setting("", PUSH, "Service-account key file (JSON) the daemon pulls the "
                                           "subscription with (roles/pubsub.subscriber). Empty: application default "
                                           "credentials.", _text)
    pubsub_emulator_host: str = setting("", PUSH, "HOST:PORT of a Pub/Sub emulator (scripts/start-pubsub.sh) "
                                        "instead of Google's Pub/Sub; no credentials are used then.")
    push_fallback_poll_seconds: int = setting(300, PUSH, "With push working for an inbox, it is still polled this "
                                              "often as a safety net (Gmail may delay or drop notifications); "
                                              "POLL_INTERVAL_SECONDS applies while push is off or failing for it.",
                                              _whole(10))
    helpdesk: str = setting("builtin", HELPDESK, "Where tickets are delivered: builtin (the connector's own store, "
                            "its dashboard and API), rt (Request Tracker 5), webhook (signed JSON events), "
                            "django_helpdesk, zendesk, zammad, freshdesk or freescout (docs/helpdesks.md).",
                            _one_of(*HELPDESKS))
    helpdesk_queues: tuple[tuple[str, str], ...] = setting((), HELPDESK, "Which helpdesk queue each group's tickets "
                                                           "go to, as Group=Queue pairs: Billing=Billing,Support=General. "
                                                           "Unmapped groups go to HELPDESK_DEFAULT_QUEUE.", _queue_map)
    helpdesk_default_queue: str = setting("General", HELPDESK, "The helpdesk queue of groups HELPDESK_QUEUES does not "
                                          "name.")
    helpdesk_attach_original: bool = setting(False, HELPDESK, "Also attach each customer mail's original .eml to the "
                                             "helpdesk ticket (true/false).", _yes_no)
    helpdesk_webhook_secret: str = setting("", HELPDESK, "Authenticates the helpdesk's own calls to POST "
                                           "/helpdesk/events when agents answer: Zendesk's webhook signing secret, "
                                           "Zammad's or FreeScout's HMAC secret; django-helpdesk and Freshdesk "
                                           "cannot sign, so they call /helpdesk/events/SECRET (docs/helpdesks.md).",
                                           secret=True)
    rt_url: str = setting("", RT, "Base URL of Request Tracker, e.g. https://rt.example.com (REST 2.0 is under "
                          "/REST/2.0).", _url)
    rt_user: str = setting("", RT, "RT user the connector acts as (basic auth with RT_PASSWORD).")
    rt_password: str = setting("", RT, "Password of RT_USER.", secret=True)
    rt_token: str = setting("", RT, "RT authentication token (instead of RT_USER and RT_PASSWORD).", secret=True)
    webhook_url: str = setting("", WEBHOOK, "Where events are POSTed (https:// for anything not on this machine).",
                               _url)
    webhook_secret: str = setting("", WEBHOOK, "Shared secret of the HMAC-SHA256 signature in the "
                                  "Gmail-Connector-Signature header; the receiver checks it.", secret=True)
    webhook_inline_max_bytes: int = setting(256 * 1024, WEBHOOK, "Attachments up to this many bytes travel inside "
                                            "the event as base64; larger ones as expiring links to the admin "
                                            "endpoint.", _whole(0))
    webhook_link_ttl_seconds: int = setting(7 * 24 * 3600, WEBHOOK, "How long an attachment link in an event "
                                            "stays valid, in seconds.", _whole(60))
    admin_public_url: str = setting("", WEBHOOK, "The admin endpoint's address as the receiver reaches it, for "
                                    "attachment links (empty: http://ADMIN_BIND).", _url)
    django_helpdesk_url: str = setting("", DJANGO_HELPDESK, "Base URL of django-helpdesk (its API is under /api/), "
                                       "e.g. https://help.example.com.", _url)
    django_helpdesk_user: str = setting("", DJANGO_HELPDESK, "Staff user the connector acts as (basic auth with "
                                        "DJANGO_HELPDESK_PASSWORD).")
    django_helpdesk_password: str = setting("", DJANGO_HELPDESK, "Password of DJANGO_HELPDESK_USER.", secret=True)
    django_helpdesk_token: str = setting("", DJANGO_HELPDESK, "A REST framework token of a staff user (instead of "
                                         "the user and password).", secret=True)
    zendesk_url: str = setting("", ZENDESK, "Your Zendesk, e.g. https://example.zendesk.com.", _url)
    zendesk_email: str = setting("", ZENDESK, "Email of the Zendesk agent or admin the API token belongs to.")
    zendesk_api_token: str = setting("", ZENDESK, "Zendesk API token (Admin Center > Apps and integrations > APIs).",
                                     secret=True)
    zammad_url: str = setting("", ZAMMAD, "Base URL of Zammad, e.g. https://zammad.example.com.", _url)
    zammad_token: str = setting("", ZAMMAD, "Zammad access token of the connector's agent (ticket.agent).",
                                secret=True)
    freshdesk_url: str = setting("", FRESHDESK, "Your Freshdesk, e.g. https://example.freshdesk.com.", _url)
    freshdesk_api_key: str = setting("", FRESHDESK, "API key of the Freshdesk agent the connector acts as.",
                                     secret=True)
    freescout_url: str = setting("", FREESCOUT, "Base URL of FreeScout, e.g. https://help.example.com.", _url)
    freescout_api_key: str = setting("", FREESCOUT, "FreeScout API key (API & Webhooks module).", secret=True)

    def __post_init__(self) -> None:
        if bool(self.pubsub_topic) != bool(self.pubsub_subscription):
            raise SettingsError("PUBSUB_TOPIC and PUBSUB_SUBSCRIPTION go together: set both for push, or neither")
        if not self.database_url:
            url = f"sqlite:///{(self.data_dir / 'connector.db').as_posix()}"
            object.__setattr__(self, "database_url", url)

    @property
    def push_enabled(self) -> bool:
        return bool(self.pubsub_topic and self.pubsub_subscription)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> "Settings":
        """Environment variables win over the .env file; unknown keys are ignored."""
        values: dict[str, str] = {}
        if env_file and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> "Settings":
        """Each declared key that is given (and not empty, unless empty is a value) through its parser."""
        kwargs: dict[str, Any] = {}
        for f in declared(cls):
            key, raw = env_key(f), values.get(env_key(f))
            if raw is not None and (raw or f.metadata["empty"]):
                kwargs[f.name] = f.metadata["parse"](key, raw)
        return cls(**kwargs)

    def describe(self) -> dict[str, str]:
        """The settings for display, with secrets masked (never print a token or key)."""
        shown: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            shown[f.name] = ("(set)" if value else "(empty)") if f.metadata.get("secret") else str(value)
        return shown


def declared(cls: type = Settings) -> list[Field]:
    """The fields that carry a `setting(...)` declaration (a subclass may add plain fields)."""
    return [f for f in fields(cls) if "parse" in f.metadata]


def env_key(f: Field) -> str:
    return f.name.upper()


def _as_env(value: Any) -> str:
    if isinstance(value, tuple):
        return ":".join(str(part) for part in value)      # a bind, HOST:PORT
    return str(value)


def env_example() -> str:
    """The text of `.env.example`: every key under its section, its doc as comments, KEY=default."""
    sections: dict[str, list[str]] = {}
    for f in declared():
        doc = [line for part in f.metadata["doc"].split("\n") for line in textwrap.wrap(part, 98)]
        entry = [f"# {line}" for line in doc] + [f"{env_key(f)}={_as_env(f.default)}"]
        sections.setdefault(f.metadata["section"], []).extend(entry)
    blocks = [ENV_HEADER] + [f"# --- {name} ---\n" + "\n".join(lines) + "\n" for name, lines in sections.items()]
    return "\n".join(blocks)


if __name__ == "__main__":
    print(env_example(), end="")
