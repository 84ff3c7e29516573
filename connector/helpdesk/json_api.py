"""HTTP to a helpdesk's JSON API (Zendesk, Zammad, Freshdesk, FreeScout, django-helpdesk): the port's errors.

One session, a timeout on every call, no redirects (a POST replayed as a GET, or credentials sent
to another host, is a URL to fix). Connection errors, timeouts, 5xx and 429 are
`HelpdeskUnavailable` (429 and 503 with their Retry-After); the statuses that mean "these
credentials" (401, and 403 for django-helpdesk) are `CredentialsRefused`; any other 4xx is
`HelpdeskRefused` with the product's own message. Reasons are one line and never hold a secret.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from connector.helpdesk.port import CredentialsRefused, HelpdeskError, HelpdeskRefused, HelpdeskUnavailable

DEFAULT_TIMEOUT = (5.0, 30.0)       # (connect, read) seconds
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


class JsonApi:
    """`product` names it in reasons ("Zendesk"); `setting` is the URL setting's name ("ZENDESK_URL")."""

    def __init__(self, product: str, base_url: str, *, setting: str, auth: tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None, secrets: Sequence[str] = (),
                 identity: str = "", credential_statuses: tuple[int, ...] = (401,),
                 message_of: Callable[[Any], str | None] | None = None, prefix: str = "", title: str = "",
                 session: requests.Session | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{setting} must be an http:// or https:// address")
        if parts.username or parts.password:
            raise ValueError(f"{setting} must not hold credentials")
        self.product, self.setting, self.title = product, setting, title or product
        self.base = base_url.strip().rstrip("/")
        self.api = self.base + prefix           # where relative paths start (RT: /REST/2.0)
        self.where = f"{parts.scheme}://{parts.netloc}"
        self.identity = identity or "the configured credentials"
        self.timeout = timeout
        self._auth = auth
        self._headers = {"Accept": "application/json", "User-Agent": "gmail-connector", **(headers or {})}
        self._secrets = tuple(s for s in secrets if s)
        self._credential_statuses = credential_statuses
        self._message_of = message_of or _default_message
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.json(self.request("GET", path, params=params))

    def post(self, path: str, body: Any, *, headers: Mapping[str, str] | None = None,
             ok: tuple[int, ...] = (200, 201)) -> Any:
        return self.json(self.request("POST", path, json_body=body, headers=headers, ok=ok))

    def put(self, path: str, body: Any, *, headers: Mapping[str, str] | None = None) -> Any:
        return self.json(self.request("PUT", path, json_body=body, headers=headers))

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None,
                data: Any = None, files: Sequence[tuple] | None = None, headers: Mapping[str, str] | None = None,
                ok: tuple[int, ...] = (200, 201, 204)) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else self.api + path
        try:
            response = self.session.request(method, url, params=params, json=json_body, data=data, files=files,
                                            auth=self._auth, headers={**self._headers, **(headers or {})},
                                            timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise HelpdeskUnavailable(f"{self.product} at {self.where} did not answer {method} {_path(url)} in time "
                                      f"({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise HelpdeskUnavailable(f"{self.product} at {self.where} is unreachable ({self._reason(exc)})") from exc
        if response.status_code in ok:
            return response
        raise self.error(method, url, response)

    def json(self, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise HelpdeskRefused(f"{self.product} at {self.where} answered {_path(response.url)} with something "
                                  f"that is not JSON: is {self.setting} the address of {self.title}?") from None

    def error(self, method: str, url: str, response: requests.Response) -> HelpdeskError:
        status, said = response.status_code, self.said(response)
        if status == 429 or status >= 500:
            return HelpdeskUnavailable(f"{self.product} answered {status} to {method} {_path(url)}: {said}",
                                       retry_after=retry_after(response.headers.get("Retry-After")))
        if status in self._credential_statuses:
            return CredentialsRefused(f"{self.product} refused the credentials of {self.identity} ({status}): {said}")
        if 300 <= status < 400:
            return HelpdeskRefused(f"{self.product} answered {status} to {method} {_path(url)}, a redirect to "
                                   f"{_path(response.headers.get('Location', '?'))}: set {self.setting} to "
                                   f"{self.product}'s own address")
        return HelpdeskRefused(f"{self.product} refused {method} {_path(url)} ({status}): {said}")

    def said(self, response: requests.Response) -> str:
        """The product's own words about a refusal, on one line, without secrets."""
        try:
            said = self._message_of(response.json())
        except ValueError:
            said = None
        return self.scrub(said or response.text[:300] or response.reason or "no message")

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = " ".join(str(text).split())
        return text if len(text) <= 300 else text[:297] + "..."

    def _reason(self, exc: Exception) -> str:
        found = _ERRNO.findall(str(exc))
        return self.scrub(f"{type(exc).__name__}: {found[-1]}" if found else type(exc).__name__)

    def close(self) -> None:
        if self._own_session:
            self.session.close()


def _default_message(body: Any) -> str | None:
    if isinstance(body, dict):
        for name in ("message", "error", "description", "detail", "details", "errors"):
            if body.get(name):
                value = body[name]
                return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return None


def _path(url: str) -> str:
    """The path of a URL, without host or query (keys and queries stay out of reasons)."""
    return urlsplit(url).path or "/"


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
