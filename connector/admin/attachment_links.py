"""Signed, expiring links to stored attachments: how a webhook receiver fetches a large file without the admin token.

The signature is the credential, so the route sits outside the token-protected routers. Its key
is derived from WEBHOOK_SECRET under a label of its own, so a link's signature can never pass as a
webhook signature or the other way round. Whoever holds WEBHOOK_SECRET (the receiver) could mint
links itself; that gives it nothing more than the events already carry, since every ticket is
delivered to it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Annotated, Any, Callable, Protocol
from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlmodel import Session

from connector.settings import Settings
from connector.store.models import StoredAttachment

LABEL = b"gmail-connector attachment links v1"
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]   # the id columns are 32-bit on PostgreSQL
# The stored type came with the mail: anything else than a plain type/subtype is not repeated.
MIME_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


class _Runtime(Protocol):
    settings: Settings
    engine: Any


class Refusal(BaseModel):
    detail: str


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the file, with its stored Content-Type and a Content-Disposition attachment filename",
          "content": {"application/octet-stream": {}}},
    403: {"model": Refusal, "description": "missing, wrong or expired signature, or WEBHOOK_SECRET is empty"},
    404: {"model": Refusal, "description": "no stored attachment with this id, or its file is gone"},
}


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), LABEL, hashlib.sha256).digest()


def _signature(key: bytes, attachment_id: int, expires: int) -> str:
    return hmac.new(key, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def link_signer(secret: str, base_url: str, ttl_seconds: int,
                clock: Callable[[], float] = time.time) -> Callable[[int], str]:
    """`link_for(attachment_id)`: a URL valid for `ttl_seconds` from the moment it is made."""
    if not secret:
        raise ValueError("attachment links need WEBHOOK_SECRET: with an empty key anyone could sign them")
    key, base = _key(secret), base_url.rstrip("/")

    def link_for(attachment_id: int) -> str:
        expires = int(clock()) + ttl_seconds
        signature = _signature(key, attachment_id, expires)
        return f"{base}/attachments/{attachment_id}?expires={expires}&signature={signature}"

    return link_for


def links_for(settings: Settings, clock: Callable[[], float] = time.time) -> Callable[[int], str] | None:
    """The webhook adapter's `link_for` from the settings; None without WEBHOOK_SECRET (files then travel inline)."""
    if not settings.webhook_secret:
        return None
    return link_signer(settings.webhook_secret, public_base(settings), settings.webhook_link_ttl_seconds, clock)


def public_base(settings: Settings) -> str:
    """The admin endpoint as others reach it: ADMIN_PUBLIC_URL, else http://ADMIN_BIND."""
    host, port = settings.admin_bind
    return (settings.admin_public_url or f"http://{f'[{host}]' if ':' in host else host}:{port}").rstrip("/")


def router(runtime: _Runtime, clock: Callable[[], float] = time.time) -> APIRouter:
    """GET /attachments/{id}?expires=&signature=, checked against the runtime's WEBHOOK_SECRET."""
    routes = APIRouter()
    secret = runtime.settings.webhook_secret

    @routes.get("/attachments/{attachment_id}", response_class=FileResponse, responses=RESPONSES,
                summary="a stored attachment, by a signed and expiring link (no admin token)")
    def get_attachment(attachment_id: RowId, expires: str = "", signature: str = "") -> FileResponse:
        if not secret:
            raise HTTPException(403, "attachment links are off: WEBHOOK_SECRET is empty")
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12) or not _matches(
                _signature(_key(secret), attachment_id, int(expires)), signature):
            raise HTTPException(403, "this link's signature is not valid")
        if int(expires) < clock():
            raise HTTPException(403, "this link has expired")
        return _file(runtime, attachment_id)

    return routes


def _matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace"))


def _file(runtime: _Runtime, attachment_id: int) -> FileResponse:
    # Deferred: a download must not wait for SQLite's write lock while a sync job holds it.
    with Session(runtime.engine.execution_options(sqlite_deferred=True)) as session:
        row = session.get(StoredAttachment, attachment_id)
        found = None if row is None else (row.filename, row.content_type, row.path)
    if found is None:
        raise HTTPException(404, "no stored attachment with this id")
    filename, content_type, relative = found
    root = Path(runtime.settings.attachments_dir).resolve()
    target = (root / relative).resolve()
    if root not in target.parents or not target.is_file():
        raise HTTPException(404, "this attachment's file is no longer stored")
    # The bytes came from a stranger's mail: a browser must download them, never run them as our page.
    headers = {"Content-Disposition": content_disposition(filename), "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "sandbox", "Cache-Control": "private, no-store"}
    media_type = content_type if MIME_TYPE.match(content_type or "") else "application/octet-stream"
    return FileResponse(target, media_type=media_type, headers=headers)


def content_disposition(filename: str) -> str:
    """`attachment; filename="..."` with an ASCII stand-in, plus RFC 5987 `filename*` when the name needs it."""
    name = filename or "attachment"
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\/' else "_" for c in name)
    value = f'attachment; filename="{fallback}"'
    return value if fallback == name else f"{value}; filename*=UTF-8''{quote(name, safe='')}"
