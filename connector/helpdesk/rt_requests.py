"""HTTP to Request Tracker's REST 2.0: one session, a timeout on every call, RT's answers as the port's errors.

Connection errors, timeouts, 5xx and 429 are `HelpdeskUnavailable` (429 with its Retry-After);
any other 4xx, a redirect or an answer that is not JSON is `HelpdeskRefused`. Every reason is one
line, carries RT's own message when it gave one, and never the password or the token.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from connector.helpdesk.port import CredentialsRefused, HelpdeskError, HelpdeskRefused, HelpdeskUnavailable

DEFAULT_TIMEOUT = (5.0, 30.0)       # (connect, read) seconds, on every request
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


class RTClient:
    def __init__(self, url: str, *, user: str = "", password: str = "", token: str = "",
                 session: requests.Session | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("RT_URL must be an http:// or https:// address")
        if parts.username or parts.password:
            raise ValueError("RT_URL must not hold credentials: use RT_USER and RT_PASSWORD, or RT_TOKEN")
        if not token and not (user and password):
            raise ValueError("Request Tracker needs RT_USER and RT_PASSWORD, or RT_TOKEN")
        self.base = url.strip().rstrip("/")
        self.api = self.base + "/REST/2.0"
        self.where = f"{parts.scheme}://{parts.netloc}"
        self.identity = "RT_TOKEN" if token else f"RT_USER {user}"
        self.timeout = timeout
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()
        self._headers = {"Accept": "application/json", "User-Agent": "gmail-connector"}
        self._auth = None if token else (user, password)
        if token:
            self._headers["Authorization"] = f"token {token}"
        self._secrets = tuple(s for s in (password, token) if s)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.json(self.request("GET", path, params=params))

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.json(self.request("PUT", path, json_body=body))

    def post_parts(self, path: str, fields: Mapping[str, Any], files: Sequence[tuple] = ()) -> requests.Response:
        """POST as multipart/form-data: a JSON part and one Attachments part per file (RT keeps their
        UTF-8 file names this way; base64 in JSON mangles them)."""
        parts = [("JSON", (None, json.dumps(fields), "application/json")), *files]
        return self.request("POST", path, files=parts, ok=(200, 201))

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, files: Sequence[tuple] | None = None,
                ok: tuple[int, ...] = (200,)) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else self.api + path
        try:
            response = self.session.request(method, url, params=params, json=json_body, files=files,
                                            auth=self._auth, headers=self._headers, timeout=self.timeout,
                                            allow_redirects=False)
        except requests.Timeout as exc:
            raise HelpdeskUnavailable(f"RT at {self.where} did not answer {method} {_path(url)} in time "
                                      f"({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise HelpdeskUnavailable(f"RT at {self.where} is unreachable ({self._reason(exc)})") from exc
        if response.status_code in ok:
            return response
        raise self.error(method, url, response)

    def json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise HelpdeskRefused(f"RT at {self.where} answered {_path(response.url)} with something that is "
                                  f"not JSON: is RT_URL the address of Request Tracker 5?") from None

    def error(self, method: str, url: str, response: requests.Response) -> HelpdeskError:
        status, said = response.status_code, self._message(response)
        if status == 429 or status >= 500:
            return HelpdeskUnavailable(f"RT answered {status} to {method} {_path(url)}: {said}",
                                       retry_after=_retry_after(response.headers.get("Retry-After")))
        if status == 401:
            return CredentialsRefused(f"RT refused the credentials of {self.identity} (401): {said}")
        if 300 <= status < 400:
            return HelpdeskRefused(f"RT answered {status} to {method} {_path(url)}, a redirect to "
                                   f"{_path(response.headers.get('Location', '?'))}: set RT_URL to RT's own address")
        return HelpdeskRefused(f"RT refused {method} {_path(url)} ({status}): {said}")

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = " ".join(text.split())
        return text if len(text) <= 300 else text[:297] + "..."

    def _message(self, response: requests.Response) -> str:
        try:
            said = response.json().get("message")
        except (ValueError, AttributeError):
            said = None
        return self.scrub(str(said) if said else (response.text[:300] or response.reason or "no message"))

    def _reason(self, exc: Exception) -> str:
        found = _ERRNO.findall(str(exc))
        return self.scrub(f"{type(exc).__name__}: {found[-1]}" if found else type(exc).__name__)

    def close(self) -> None:
        if self._own_session:
            self.session.close()


def _path(url: str) -> str:
    """The path of a URL, without host or query (keys and queries stay out of reasons)."""
    return urlsplit(url).path or "/"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
