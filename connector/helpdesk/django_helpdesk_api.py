"""HTTP to django-helpdesk's REST API (helpdesk/views/api.py): its errors in the port's words, its uploads, its scans.

django-helpdesk answers 403, not 401, to a wrong password or token (REST framework's session
authentication comes first) and to a user who is not staff, so both are `CredentialsRefused`.
Its 500 pages are HTML: the reason keeps their title and says the likeliest cause, since the
webhook call it makes inside every write raises when the URL refuses connections (webhooks.py).
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import requests

from connector.helpdesk.django_helpdesk_content import Upload
from connector.helpdesk.json_api import DEFAULT_TIMEOUT, JsonApi
from connector.helpdesk.port import CredentialsRefused, HelpdeskError

PAGE = 50                   # tickets per page while scanning (each comes with all its follow-ups)
MAX_PAGES = 20              # find_ticket looks at the newest PAGE * MAX_PAGES tickets
_TITLE = re.compile(r"<title>([^<]{1,200})</title>", re.IGNORECASE)


class DjangoHelpdeskApi(JsonApi):
    def __init__(self, url: str, *, user: str = "", password: str = "", token: str = "",
                 session: requests.Session | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        if not token and not (user and password):
            raise ValueError("django-helpdesk needs DJANGO_HELPDESK_TOKEN, or DJANGO_HELPDESK_USER and "
                             "DJANGO_HELPDESK_PASSWORD")
        identity = "DJANGO_HELPDESK_TOKEN" if token else f"DJANGO_HELPDESK_USER {user}"
        super().__init__("django-helpdesk", url, setting="DJANGO_HELPDESK_URL",
                         auth=None if token else (user, password),
                         headers={"Authorization": f"Token {token}"} if token else None,
                         secrets=(password, token), identity=identity,
                         credential_statuses=(401, 403), message_of=_message, session=session, timeout=timeout)

    def said(self, response: requests.Response) -> str:
        if "html" not in response.headers.get("Content-Type", ""):
            return super().said(response)
        found = _TITLE.search(response.text)
        said = found.group(1).strip() if found else response.reason or "an HTML page"
        if response.status_code >= 500:
            said += (" (django-helpdesk answers 500 when its webhook URL cannot be reached, even though it "
                     "saved the change; its server log says more)")
        return self.scrub(said)

    def error(self, method: str, url: str, response: requests.Response) -> HelpdeskError:
        found = super().error(method, url, response)
        if isinstance(found, CredentialsRefused):   # 403 is also "not staff": REST framework's IsAdminUser
            return CredentialsRefused(f"{found.reason} ({self.identity} must be an active staff user)")
        return found

    def ticket(self, number: int) -> dict[str, Any]:
        return self.get(f"/api/tickets/{number}/")

    def upload(self, followup_id: int, file: Upload) -> dict[str, Any]:
        """One attachment onto a follow-up: POST /api/followups-attachments/ keeps the name and type as
        given (a multipart file name loses its quotes on the way)."""
        response = self.request("POST", "/api/followups-attachments/", ok=(200, 201),
                                data={"followup": str(followup_id), "filename": file.filename,
                                      "mime_type": file.content_type},
                                files=[("file", (file.stored_name, file.payload, file.content_type))])
        return self.json(response)

    def newest_tickets(self) -> Iterator[dict[str, Any]]:
        """Tickets newest first, at most PAGE * MAX_PAGES: the API has no search, and lists by id."""
        count = int((self.get("/api/tickets/", {"page_size": 1}) or {}).get("count") or 0)
        last = (count + PAGE - 1) // PAGE
        for page in range(last, max(0, last - MAX_PAGES), -1):
            response = self.request("GET", "/api/tickets/", params={"page_size": PAGE, "page": page},
                                    ok=(200, 404))
            if response.status_code == 404:     # "Invalid page.": tickets were deleted meanwhile
                continue
            yield from reversed((self.json(response) or {}).get("results") or [])


def _message(body: Any) -> str | None:
    """REST framework's refusals: {"detail": "..."} or {"field": ["...", ...], ...}."""
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return body["detail"]
        parts = [f"{name}: {' '.join(map(str, value)) if isinstance(value, list) else value}"
                 for name, value in body.items()]
        return "; ".join(parts) or None
    if isinstance(body, list):
        return "; ".join(map(str, body)) or None
    return None
