"""POST /api/tickets/{id}/replies: queue a reply (or a private note) the way `gmail-connector reply` does."""
from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path
from fastapi import Request
from pydantic import BaseModel, Field

from connector.outbound.compose import ReplyAttachment, ReplyError, ReplyTooLarge
from connector.store.db import session_scope
from connector.store.outbound import NoRequester, UnknownTicket, queue_reply

router = APIRouter()
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]   # the id columns are 32-bit on PostgreSQL
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                              pattern=r"^[\x21-\x7e]+$",
                                              description="a key of the caller's choosing: a retry with "
                                                          "the same key queues nothing new")]


# The schema says exactly what is accepted, so a client (or a fuzzer) valid by it is never refused.
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
MIME_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$"
FILENAME = r"^[^\x00-\x1f\x7f/\\]+$"


class AttachmentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=255, pattern=FILENAME)
    content_type: str = Field("application/octet-stream", max_length=255, pattern=MIME_TYPE)
    content_base64: str = Field(pattern=BASE64, description="the file's bytes, base64-encoded")


class ReplyIn(BaseModel):
    body: str = Field(min_length=1, pattern=r"\S", description="plain text of the reply")
    private: bool = Field(False, description="a private note: stored on the ticket, never sent")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class ReplyQueued(BaseModel):
    id: int
    ticket_id: int
    state: str = Field(description="queued (the daemon sends it) or private")
    message_id: str = Field(description="our Message-ID, without angle brackets")


# 409, not 422: the request is valid; the ticket's state refuses it, and the same body as a private note passes.
RESPONSES = {400: {"description": "the body is not UTF-8 text (FastAPI cannot read it as JSON)"},
             404: {"description": "no such ticket"},
             409: {"description": "the ticket has no requester address to reply to (a private note is allowed), "
                                  "or the Idempotency-Key was used for another ticket"},
             413: {"description": "the composed reply is over Gmail's 25 MB, or the request body is over the limit "
                                  "(ADMIN_MAX_BODY_BYTES, 32 MiB; 1 MiB without a valid token), refused unread"},
             422: {"description": "empty reply, unreadable attachment, or a body that is not JSON"}}


@router.post("/api/tickets/{ticket_id}/replies", response_model=ReplyQueued, status_code=201, responses=RESPONSES)
def post_reply(ticket_id: RowId, reply: ReplyIn, request: Request,
               idempotency_key: IdempotencyKey = None) -> ReplyQueued:
    """Stored first, sent by the daemon's queue; a private note is never sent.

    With an Idempotency-Key header, the same key posted again (a retry after a lost answer) gets
    the reply queued the first time, and nothing is sent twice."""
    runtime = request.app.state.runtime
    files = [ReplyAttachment(a.filename, a.content_type, _decode(a.content_base64)) for a in reply.attachments]
    try:
        with session_scope(runtime.engine) as session:
            row = queue_reply(session, ticket_id, reply.body, files, reply.private,
                              attachments_dir=runtime.settings.attachments_dir,
                              source_key=f"api:{idempotency_key}" if idempotency_key else None)
            if row.ticket_id != ticket_id:
                raise HTTPException(409, "this Idempotency-Key was used for another ticket; nothing queued")
            return ReplyQueued(id=row.id, ticket_id=row.ticket_id, state=row.state, message_id=row.message_id)
    except UnknownTicket:
        raise HTTPException(404, "no ticket with this id") from None
    except NoRequester as exc:
        raise HTTPException(409, f'{exc}; nothing queued ("private": true adds an internal note instead)') from None
    except ReplyTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except ReplyError as exc:
        raise HTTPException(422, str(exc)) from None


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, "an attachment's content_base64 is not base64") from None
