"""How replies leave besides Gmail: the SMTP relay, its TLS context and the DKIM key, built once."""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Callable

from connector.outbound.dkim_sign import DkimKey
from connector.outbound.smtp_relay import RelayConfig


@dataclass(frozen=True)
class Outbound:
    """How replies leave besides Gmail, from the settings; tests build it directly."""
    relay: RelayConfig | None = None
    dkim: DkimKey | None = None
    ssl_context: ssl.SSLContext | None = None
    # Called after the mail left and before it is recorded: where a crash would hurt most (tests).
    after_send: Callable[[int], None] | None = None

    @classmethod
    def from_settings(cls, settings) -> "Outbound":
        """Built once by the composition root: the DKIM key file is read here, not at every send."""
        url, selector, key_file = settings.smtp_relay_url, settings.dkim_selector, settings.dkim_private_key_file
        return cls(relay=RelayConfig.from_url(url) if url else None,
                   dkim=DkimKey.from_file(selector, key_file) if selector and key_file else None)
