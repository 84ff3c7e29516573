"""HTTP to Request Tracker's REST 2.0: the shared JSON client (json_api.py) with RT's auth and multipart posts.

Connection errors, timeouts, 5xx and 429 are `HelpdeskUnavailable` (429 with its Retry-After);
401 is `CredentialsRefused`; any other 4xx, a redirect or an answer that is not JSON is
`HelpdeskRefused`. Every reason is one line, carries RT's own message when it gave one, and never
the password or the token.
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from connector.helpdesk.json_api import DEFAULT_TIMEOUT, JsonApi

__all__ = ["DEFAULT_TIMEOUT", "RTClient"]


class RTClient(JsonApi):
    def __init__(self, url: str, *, user: str = "", password: str = "", token: str = "",
                 session: requests.Session | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        parts = urlsplit(url.strip())
        if parts.username or parts.password:
            raise ValueError("RT_URL must not hold credentials: use RT_USER and RT_PASSWORD, or RT_TOKEN")
        if not token and not (user and password):
            raise ValueError("Request Tracker needs RT_USER and RT_PASSWORD, or RT_TOKEN")
        super().__init__("RT", url, setting="RT_URL", auth=None if token else (user, password),
                         headers={"Authorization": f"token {token}"} if token else None,
                         secrets=(password, token), identity="RT_TOKEN" if token else f"RT_USER {user}",
                         message_of=_message, prefix="/REST/2.0", title="Request Tracker 5", session=session, timeout=timeout)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.json(self.request("GET", path, params=params, ok=(200,)))

    def put(self, path: str, body: Mapping[str, Any], **_: Any) -> Any:
        return self.json(self.request("PUT", path, json_body=body, ok=(200,)))

    def post_parts(self, path: str, fields: Mapping[str, Any], files: Sequence[tuple] = ()) -> requests.Response:
        """POST as multipart/form-data: a JSON part and one Attachments part per file (RT keeps their
        UTF-8 file names this way; base64 in JSON mangles them)."""
        parts = [("JSON", (None, json.dumps(fields), "application/json")), *files]
        return self.request("POST", path, files=parts, ok=(200, 201))


def _message(body: Any) -> str | None:
    said = body.get("message") if isinstance(body, dict) else None
    return str(said) if said else None
