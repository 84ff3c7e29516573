"""FreeScout's REST API (API & Webhooks module) over JsonApi: its key header, error bodies and Resource-ID answers.

Facts from https://api-docs.freescout.net/ : the key travels in `X-FreeScout-API-Key`; a create
answers 201 with the new id in the `Resource-ID` header; errors are
`{"message": ..., "_embedded": {"errors": [{"path", "message"}]}}`; lists are
`{"_embedded": {NAME: [...]}, "page": {"number", "totalPages"}}`. Attachments are downloaded from
their `fileUrl`, FreeScout's open /storage/attachment route guarded by the token in the URL, so
the API key is never sent there (the URL may name another host: FreeScout's APP_URL).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

import requests

from connector.helpdesk.json_api import JsonApi
from connector.helpdesk.port import HelpdeskRefused, HelpdeskUnavailable

PAGE_SIZE = 100
# FreeScout writes "2020-03-15T22:46:22Z"; some entities of the docs show "2021-04-21T13-24-01Z".
_WHEN = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d)[:-](\d\d)[:-](\d\d)")


class FreeScoutApi:
    def __init__(self, url: str, api_key: str, *, secrets: tuple[str, ...] = (),
                 session: requests.Session | None = None):
        self.http = JsonApi("FreeScout", url, setting="FREESCOUT_URL", headers={"X-FreeScout-API-Key": api_key},
                            secrets=(api_key, *secrets), identity="FREESCOUT_API_KEY", message_of=_message_of,
                            session=session)
        self.base, self.where = self.http.base, self.http.where

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.http.get(path, params)

    def put(self, path: str, body: dict) -> None:
        self.http.request("PUT", path, json_body=body, ok=(200, 204))

    def create(self, path: str, body: dict) -> str:
        """POST and return the new entity's id, from Resource-ID (or an answer body that carries it)."""
        response = self.http.request("POST", path, json_body=body, ok=(200, 201))
        made = response.headers.get("Resource-ID", "").strip()
        if not made:
            answer = self.http.json(response)
            made = str(answer.get("id", "")) if isinstance(answer, dict) else ""
        if not made.isdigit():
            # Made, but we cannot tell what: the retry's lookup by our key finds it.
            raise HelpdeskUnavailable(f"FreeScout answered {response.status_code} to POST {path} without a "
                                      "Resource-ID header")
        return made

    def conversation(self, number: int) -> dict:
        found = self.get(f"/api/conversations/{number}", {"embed": "threads"})
        if not isinstance(found, dict):
            raise HelpdeskRefused(f"FreeScout answered GET /api/conversations/{number} with no conversation")
        return found

    def pages(self, path: str, name: str, params: Mapping[str, Any] | None = None,
              max_pages: int = 20) -> Iterator[dict]:
        """The items of a paged list, page after page, at most `max_pages` pages."""
        for number in range(1, max_pages + 1):
            answer = self.get(path, {**(params or {}), "page": number, "pageSize": params_size(params)}) or {}
            yield from (item for item in (answer.get("_embedded") or {}).get(name) or [] if isinstance(item, dict))
            page = answer.get("page") or {}
            if int(page.get("totalPages") or 1) <= number:
                return

    def download(self, url: str) -> bytes:
        """An attachment's bytes from its fileUrl: same session and timeouts, no API key, no redirects."""
        if not url.startswith(("http://", "https://")):
            url = self.base + "/" + url.lstrip("/")
        try:
            response = self.http.session.get(url, timeout=self.http.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise HelpdeskUnavailable(f"cannot download an attachment from FreeScout ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise self.http.error("GET", url, response)
        return response.content

    def close(self) -> None:
        self.http.close()


def params_size(params: Mapping[str, Any] | None) -> int:
    return int((params or {}).get("pageSize") or PAGE_SIZE)


def when(value: Any) -> datetime | None:
    """A FreeScout date (UTC) as an aware datetime, None when absent or unreadable."""
    found = _WHEN.match(str(value or ""))
    if not found:
        return None
    return datetime(*(int(part) for part in found.groups()), tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """The API's date format, YYYY-MM-DDThh:mm:ssZ in UTC (naive datetimes are UTC, as our store keeps them)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message_of(body: Any) -> str | None:
    """FreeScout's error body: its message and each field's complaint (https://api-docs.freescout.net/#errors)."""
    if not isinstance(body, dict):
        return None
    said = str(body.get("message") or "").strip()
    errors = (body.get("_embedded") or {}).get("errors") or [] if isinstance(body.get("_embedded"), dict) else []
    details = "; ".join(f"{e.get('path') or '?'}: {e.get('message') or '?'}" for e in errors if isinstance(e, dict))
    if said and details:
        return f"{said} ({details})"
    return details or said or None
