"""SMTP relay client for replies from external addresses: STARTTLS or implicit TLS, then AUTH."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import unquote, urlsplit

_DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


class RelayError(Exception):
    """The relay did not take the message. Messages carry the server's reply, never the password."""


class RelayTemporary(RelayError):
    """Worth retrying later: connection trouble or a 4xx reply."""


class RelayRefused(RelayError):
    """Retrying will not help: a 5xx reply, failed authentication, or no TLS for the password."""


@dataclass(frozen=True)
class RelayConfig:
    scheme: str                       # smtp (STARTTLS) | smtps (implicit TLS)
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> "RelayConfig":
        """`smtp://user:pass@host:587` (STARTTLS) or `smtps://user:pass@host:465` (implicit TLS)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError("SMTP_RELAY_URL must look like smtp://user:password@host:587 or smtps://host:465")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ValueError("SMTP_RELAY_URL has an invalid port") from None
        return cls(parts.scheme, parts.hostname, port, unquote(parts.username or ""),
                   unquote(parts.password or ""), timeout)

    def describe(self) -> str:
        """For logs and errors: where, never the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def relay_send(config: RelayConfig, mail_from: str, recipients: Sequence[str], raw: bytes,
               ssl_context: ssl.SSLContext | None = None) -> None:
    """Hand one message to the relay; raises RelayTemporary or RelayRefused when it is not accepted."""
    context = ssl_context or ssl.create_default_context()
    try:
        with _connect(config, context) as client:
            if config.username:
                client.login(config.username, config.password)
            refused = client.sendmail(mail_from, list(recipients), raw)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _by_code(min(code for code, _ in exc.recipients.values()), "refused every recipient", config) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise RelayRefused(f"{config.describe()} refused the login: {exc.smtp_code} "
                           f"{_text(exc.smtp_error)}") from exc
    except smtplib.SMTPResponseException as exc:
        raise _by_code(exc.smtp_code, _text(exc.smtp_error), config) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise RelayRefused(f"{config.describe()} cannot do what the URL asks: {exc}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise RelayTemporary(f"{config.describe()} unreachable: {type(exc).__name__}: {exc}") from exc
    if refused:
        raise RelayRefused(f"{config.describe()} refused {', '.join(sorted(refused))}")


def _connect(config: RelayConfig, context: ssl.SSLContext) -> smtplib.SMTP:
    if config.scheme == "smtps":
        return smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        client.ehlo()
        if client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        elif config.username:
            raise RelayRefused(f"{config.describe()} offers no STARTTLS; the password is never sent in clear")
    except BaseException:
        client.close()
        raise
    return client


def _by_code(code: int, said: str, config: RelayConfig) -> RelayError:
    kind = RelayTemporary if 400 <= code < 500 else RelayRefused
    return kind(f"{config.describe()} answered {code} {said}")


def _text(value: bytes | str) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:300]
