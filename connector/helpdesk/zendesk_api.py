"""HTTP to Zendesk's Support API: JsonApi with Zendesk's error bodies, cursor pages and attachment downloads.

Zendesk answers errors as {"error", "description", "details"}
(https://developer.zendesk.com/api-reference/introduction/requests/); a 409 is a concurrent update
of the same ticket, worth retrying; a 400 IdempotentRequestError is a replayed Idempotency-Key with
another body (https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency).
"""
from __future__ import annotations

import json
from typing import Any, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests

from connector.helpdesk.json_api import JsonApi, retry_after
from connector.helpdesk.port import HelpdeskError, HelpdeskRefused, HelpdeskUnavailable

PAGE_SIZE = 100                 # the most cursor pagination hands out per page
_REDIRECTS = (301, 302, 303, 307, 308)


class IdempotencyMismatch(HelpdeskRefused):
    """Zendesk kept another request body under this Idempotency-Key (for 2 hours)."""


class ZendeskApi(JsonApi):
    def __init__(self, url: str, email: str, api_token: str, *, session: requests.Session | None = None):
        if not (email and api_token):
            raise ValueError("Zendesk needs ZENDESK_EMAIL and ZENDESK_API_TOKEN")
        # API token auth is basic auth as "{email}/token:{api_token}"
        # (https://developer.zendesk.com/api-reference/introduction/security-and-auth/).
        super().__init__("Zendesk", url, setting="ZENDESK_URL", auth=(f"{email}/token", api_token),
                         secrets=(api_token,), identity=f"ZENDESK_EMAIL {email} with ZENDESK_API_TOKEN",
                         message_of=_message, session=session)
        self.host = urlsplit(self.base).netloc.lower()
        self._me: dict | None = None

    def error(self, method: str, url: str, response: requests.Response) -> HelpdeskError:
        status = response.status_code
        if status == 409:       # another update of the same ticket won the race: nothing was written
            return HelpdeskUnavailable(f"Zendesk answered 409 to {method} {_path(url)}: {self.said(response)}",
                                       retry_after=retry_after(response.headers.get("Retry-After")))
        if status == 400 and _error_name(response) == "IdempotentRequestError":
            return IdempotencyMismatch(f"Zendesk refused {method} {_path(url)} (400): {self.said(response)}")
        return super().error(method, url, response)

    def me(self) -> dict:
        """The user ZENDESK_EMAIL signs in as (its id tells our own comments apart)."""
        if self._me is None:
            self._me = self.get("/api/v2/users/me").get("user") or {}
        return self._me

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict]:
        """Each page of a cursor-paginated list, following meta.after_cursor
        (https://developer.zendesk.com/api-reference/introduction/pagination/)."""
        query = {**(params or {}), "page[size]": PAGE_SIZE}
        while True:
            page = self.get(path, query) or {}
            yield page
            meta = page.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return
            query = {**query, "page[after]": meta["after_cursor"]}

    def download(self, url: str) -> bytes:
        """An attachment's bytes. Credentials go to ZENDESK_URL's own host only: content_url may be
        hosted elsewhere (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-attachments/)."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise HelpdeskRefused(f"Zendesk named an attachment address that is not http(s): {_path(url)}")
        response = self._fetch(url)
        if response.status_code in _REDIRECTS:      # Zendesk hands out the file's signed address
            response = self._fetch(urljoin(url, response.headers.get("Location", "")))
        if response.status_code in _REDIRECTS:
            raise HelpdeskRefused(f"Zendesk's attachment at {_path(url)} redirects more than once")
        return response.content

    def _fetch(self, url: str) -> requests.Response:
        parts = urlsplit(url)       # same scheme too: never the token in clear over http
        if (parts.scheme.lower(), parts.netloc.lower()) == (urlsplit(self.base).scheme.lower(), self.host):
            return self.request("GET", url, ok=(200, *_REDIRECTS))
        return self._anonymous(url)

    def _anonymous(self, url: str) -> requests.Response:
        try:
            response = self.session.get(url, timeout=self.timeout, allow_redirects=False,
                                        headers={"User-Agent": "gmail-connector"})
        except requests.RequestException as exc:
            raise HelpdeskUnavailable(f"Zendesk's attachment host {urlsplit(url).netloc or '?'} is unreachable "
                                      f"({type(exc).__name__})") from exc
        if response.status_code in (200, *_REDIRECTS):
            return response
        raise self.error("GET", url, response)


def _message(body: Any) -> str | None:
    """Zendesk's description and the details of a validation error, on one line."""
    if not isinstance(body, dict):
        return None
    error, description = body.get("error"), body.get("description")
    if isinstance(error, dict):     # some endpoints nest it: {"error": {"title", "message"}}
        error, description = error.get("title"), description or error.get("message")
    said = [str(part) for part in (error, description) if part]
    details = body.get("details")
    if isinstance(details, dict):
        for field, problems in details.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                text = problem.get("description") if isinstance(problem, dict) else problem
                said.append(f"{field}: {text}")
    elif details:
        said.append(json.dumps(details, ensure_ascii=False))
    return " - ".join(said) or None


def _error_name(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error") or "") if isinstance(body, dict) else ""


def _path(url: str) -> str:
    return urlsplit(url).path or "/"
