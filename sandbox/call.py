"""One Gmail API call as handlers see it: the mailbox, the caller's grant, parameters and body."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sandbox.core import Sandbox
from sandbox.errors import bad_request, invalid, service_account_only
from sandbox.mailbox import Mailbox
from sandbox.mime import unb64url
from sandbox.oauth import AccessGrant


@dataclass
class Call:
    core: Sandbox
    box: Mailbox
    grant: AccessGrant
    args: dict[str, str]
    query: dict[str, list[str]]
    body_bytes: bytes = b""
    media: bytes | None = None             # the message of an /upload/ request
    metadata_only: bool = False            # the grant's only fitting scope is gmail.metadata
    _json: dict | None = field(default=None, repr=False)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def params(self, name: str) -> list[str]:
        return [v for value in self.query.get(name, []) for v in value.split(",") if v]

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() == "true"

    @property
    def body(self) -> dict:
        if self._json is None:
            try:
                self._json = json.loads(self.body_bytes or b"{}")
            except ValueError:
                raise bad_request("Invalid JSON payload received.") from None
            if not isinstance(self._json, dict):
                raise bad_request("Invalid JSON payload received.")
        return self._json

    def raw_message(self) -> bytes:
        """The RFC 822 bytes of insert/import/send: an uploaded medium or the JSON `raw` field."""
        if self.media is not None:
            return self.media
        raw = self.body.get("raw")
        if not raw:
            raise invalid("'raw' RFC822 payload message string or uploading message via /upload/* URL required")
        try:
            return unb64url(str(raw))
        except ValueError:
            raise invalid("Invalid value for ByteString: raw") from None

    def require_delegation(self) -> None:
        """Google lets only a domain-wide-delegated service account change forwarding."""
        if not self.grant.service_account:
            raise service_account_only()
