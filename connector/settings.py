"""Every setting of the daemon, read once from the environment and an optional .env file.

This is the one place settings are read; `.env.example` documents each key with its default.
The rest of the code receives a frozen `Settings` and never reads `os.environ` itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values


class SettingsError(ValueError):
    """A setting has a value the daemon cannot use; the message names the key."""


def _bool(key: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{key} must be true or false, not {raw!r}")


def _int(key: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{key} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{key} must be at least {minimum}, not {value}")
    return value


def _choice(key: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip()
    if value not in allowed:
        raise SettingsError(f"{key} must be one of {', '.join(allowed)}, not {raw!r}")
    return value


def _bind(key: str, raw: str) -> tuple[str, int]:
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host:
        raise SettingsError(f"{key} must look like HOST:PORT, not {raw!r}")
    return host.strip("[]"), _int(key, port)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    gmail_api_endpoint: str = ""
    log_level: str = "INFO"
    poll_interval_seconds: int = 30
    backfill_days: int = 7
    backfill_max: int = 500
    imported_label: str = "Helpdesk/Imported"
    after_import: str = "none"
    attachment_max_bytes: int = 50 * 1024 * 1024
    admin_bind: tuple[str, int] = ("127.0.0.1", 8080)
    admin_token: str = field(default="", repr=False)
    smtp_inbound_bind: tuple[str, int] = ("127.0.0.1", 2525)
    inbound_domain: str = ""
    inbound_max_bytes: int = 35 * 1024 * 1024
    token_encryption_key: str = field(default="", repr=False)
    dns_resolver: str = ""
    smtp_relay_url: str = field(default="", repr=False)      # may hold a password
    dkim_selector: str = ""
    dkim_private_key_file: str = ""
    admin_allowed_hosts: str = ""
    lease_ttl_seconds: int = 90

    def __post_init__(self) -> None:
        if not self.database_url:
            url = f"sqlite:///{(self.data_dir / 'connector.db').as_posix()}"
            object.__setattr__(self, "database_url", url)

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
        kwargs: dict[str, object] = {}
        get = values.get
        if get("DATA_DIR"):
            kwargs["data_dir"] = Path(get("DATA_DIR", "")).expanduser()
        if "IMPORTED_LABEL" in values:
            kwargs["imported_label"] = values["IMPORTED_LABEL"].strip()   # empty: do not label
        for key, name in (("DATABASE_URL", "database_url"), ("GMAIL_API_ENDPOINT", "gmail_api_endpoint"),
                          ("ADMIN_TOKEN", "admin_token"),
                          ("INBOUND_DOMAIN", "inbound_domain"), ("TOKEN_ENCRYPTION_KEY", "token_encryption_key"),
                          ("DNS_RESOLVER", "dns_resolver"), ("SMTP_RELAY_URL", "smtp_relay_url"),
                          ("DKIM_SELECTOR", "dkim_selector"), ("DKIM_PRIVATE_KEY_FILE", "dkim_private_key_file"),
                          ("ADMIN_ALLOWED_HOSTS", "admin_allowed_hosts")):
            if get(key):
                kwargs[name] = get(key, "").strip()
        if get("LOG_LEVEL"):
            kwargs["log_level"] = _choice("LOG_LEVEL", get("LOG_LEVEL", "").upper(),
                                          ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
        for key, name, minimum in (("POLL_INTERVAL_SECONDS", "poll_interval_seconds", 1),
                                   ("BACKFILL_DAYS", "backfill_days", 0), ("BACKFILL_MAX", "backfill_max", 0),
                                   ("ATTACHMENT_MAX_BYTES", "attachment_max_bytes", 1),
                                   ("INBOUND_MAX_BYTES", "inbound_max_bytes", 1024),
                                   ("LEASE_TTL_SECONDS", "lease_ttl_seconds", 3)):
            if get(key):
                kwargs[name] = _int(key, get(key, ""), minimum)
        if get("AFTER_IMPORT"):
            kwargs["after_import"] = _choice("AFTER_IMPORT", get("AFTER_IMPORT", ""), ("none", "mark_read", "archive"))
        for key, name in (("ADMIN_BIND", "admin_bind"), ("SMTP_INBOUND_BIND", "smtp_inbound_bind")):
            if get(key):
                kwargs[name] = _bind(key, get(key, ""))
        relay = str(kwargs.get("smtp_relay_url", ""))
        if relay and not relay.startswith(("smtp://", "smtps://")):
            raise SettingsError("SMTP_RELAY_URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
        if kwargs.get("gmail_api_endpoint"):
            kwargs["gmail_api_endpoint"] = str(kwargs["gmail_api_endpoint"]).rstrip("/")
        return cls(**kwargs)  # type: ignore[arg-type]

    def describe(self) -> dict[str, str]:
        """The settings for display, with secrets masked (never print a token or key)."""
        secret = {"admin_token", "token_encryption_key", "smtp_relay_url"}
        shown: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            shown[f.name] = ("(set)" if value else "(empty)") if f.name in secret else str(value)
        return shown
