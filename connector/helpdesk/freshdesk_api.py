"""HTTP to Freshdesk's API v2 (https://developers.freshdesk.com/api/): the API key, JSON or multipart, pages.

Built on JsonApi, so errors are the port's: 401 is CredentialsRefused, 429 and 5xx are
HelpdeskUnavailable with Freshdesk's Retry-After, any other 4xx is HelpdeskRefused with Freshdesk's
own words (its error body is {"description": ..., "errors": [{"field", "message", "code"}]}).
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from connector.helpdesk.json_api import DEFAULT_TIMEOUT, JsonApi
from connector.helpdesk.port import HelpdeskRefused, HelpdeskUnavailable

PAGE = 100              # "The maximum number of objects that can be retrieved per page is 100"
MAX_PAGES = 50          # Freshdesk asks clients to stay far below page 500 ("deep pagination")
DOWNLOAD_LIMIT = 25 * 1024 * 1024   # Freshdesk caps a ticket's attachments at 20 MB


class FreshdeskApi:
    def __init__(self, url: str, api_key: str, *, session: requests.Session | None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        if not api_key.strip():
            raise ValueError("FRESHDESK_API_KEY is empty")
        site = url.strip().rstrip("/")
        self.site = site[: -len("/api/v2")] if site.endswith("/api/v2") else site
        # The API key is the user name and any password will do ("apikey:X", Authentication section).
        self._json = JsonApi("Freshdesk", self.site + "/api/v2", setting="FRESHDESK_URL", auth=(api_key.strip(), "X"),
                             secrets=(api_key.strip(),), identity="the agent whose key FRESHDESK_API_KEY is",
                             message_of=_message_of, session=session, timeout=timeout)
        self.where = self._json.where

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json.get(path, params)

    def put(self, path: str, body: Any) -> Any:
        return self._json.put(path, body)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._json.request(method, path, **kwargs)

    def json(self, response: requests.Response) -> Any:
        return self._json.json(response)

    def send(self, method: str, path: str, fields: Mapping[str, Any], files: Sequence[tuple]) -> Any:
        """JSON, or multipart/form-data when there are files: the only way Freshdesk takes attachments."""
        if not files:
            return self._json.json(self._json.request(method, path, json_body=dict(fields)))
        return self._json.json(self._json.request(method, path, data=form_fields(fields), files=list(files)))

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict]:
        """Every item of a paged list, oldest page first; a short page is the last one."""
        for page in range(1, MAX_PAGES + 1):
            items = self.get(path, {**(params or {}), "per_page": PAGE, "page": page}) or []
            yield from items
            if len(items) < PAGE:
                return

    def download(self, url: str, limit: int = DOWNLOAD_LIMIT) -> bytes:
        """An attachment's bytes from its attachment_url: a signed link on Freshdesk's file store, fetched
        WITHOUT the API key (the key must never reach another host, and the store refuses a second auth)."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise HelpdeskRefused("Freshdesk gave an attachment link that is not http(s)")
        try:
            with self._json.session.get(url, timeout=self._json.timeout, stream=True,
                                        headers={"User-Agent": "gmail-connector"}) as response:
                if response.status_code != 200:
                    error = HelpdeskUnavailable if response.status_code >= 500 else HelpdeskRefused
                    raise error(f"Freshdesk's file store answered {response.status_code} for an attachment")
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        raise HelpdeskRefused(f"an attachment in Freshdesk is larger than {limit >> 20} MB")
        except requests.RequestException as exc:
            raise HelpdeskUnavailable(f"Freshdesk's file store is unreachable ({type(exc).__name__})") from exc
        return bytes(data)

    def close(self) -> None:
        self._json.close()


def form_fields(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Multipart fields the way Freshdesk's samples send them: lists as `name[]`, booleans as true/false."""
    flat: list[tuple[str, str]] = []
    for name, value in fields.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            flat.append((f"{name}[]" if isinstance(value, (list, tuple)) else name, text))
    return flat


def _message_of(body: Any) -> str | None:
    """Freshdesk's refusal on one line: its description, then each field's message and code."""
    if not isinstance(body, dict):
        return None
    details = []
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            text = str(error.get("message") or error.get("code") or "")
            field = error.get("field") or error.get("nested_field")
            details.append(f"{field}: {text}" if field else text)
    said = str(body.get("description") or body.get("message") or body.get("code") or "")
    return "; ".join(part for part in [said, *details] if part) or None
