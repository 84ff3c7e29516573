"""POST /helpdesk/events[/SECRET]: a helpdesk's webhook says agents wrote on some tickets; mark them to read.

The helpdesk's own signature (or, for those that cannot sign, the secret in the URL) is the
credential, so the route sits outside the token-protected routers. The call is only a hint: the
replies job reads the marked tickets' answers back through the helpdesk's API (the source of
truth), so a replayed or forged-but-signed call can at worst cause one more read, never a reply.
"""
from __future__ import annotations

import logging
import time

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import update

from connector.helpdesk.port import EventRefused, WebhookCall
from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.types import utcnow

log = logging.getLogger(__name__)
MAX_TICKETS_PER_CALL = 100


class EventAccepted(BaseModel):
    marked: int = Field(description="our tickets whose agents' answers will be read (within seconds)")
    unknown: int = Field(description="helpdesk tickets the connector did not open: ignored")


RESPONSES = {401: {"description": "not the helpdesk's call: signature or secret missing or wrong, or too old"},
             404: {"description": "the configured HELPDESK takes no webhook calls (builtin, rt, webhook)"},
             413: {"description": "body over 1 MiB, refused unread"}}


def router(runtime) -> APIRouter:
    routes = APIRouter()

    def accept(request_body: bytes, request: Request, secret: str | None) -> EventAccepted:
        helpdesk = runtime.helpdesk
        if helpdesk is None or not hasattr(helpdesk, "tickets_in_event"):
            raise HTTPException(404, f"HELPDESK={runtime.settings.helpdesk} takes no webhook calls")
        call = WebhookCall(headers={k.lower(): v for k, v in request.headers.items()}, body=request_body,
                           path_secret=secret, received_at=time.time())
        try:
            remote_ids = helpdesk.tickets_in_event(call)
        except EventRefused as exc:
            log.warning("refused a call to /helpdesk/events from %s: %s",
                        request.client.host if request.client else "?", exc.reason)
            raise HTTPException(401, exc.reason) from None
        return _mark(runtime, helpdesk.name, [str(r) for r in remote_ids][:MAX_TICKETS_PER_CALL])

    async def with_secret(secret: str, request: Request) -> EventAccepted:
        return accept(await request.body(), request, secret)

    async def without_secret(request: Request) -> EventAccepted:
        return accept(await request.body(), request, None)

    for path, endpoint in (("/helpdesk/events", without_secret), ("/helpdesk/events/{secret}", with_secret)):
        routes.add_api_route(path, endpoint, methods=["POST"], status_code=202, response_model=EventAccepted,
                             responses=RESPONSES, summary="the helpdesk's webhook: agents answered on these tickets")
    return routes


def _mark(runtime, destination: str, remote_ids: list[str]) -> EventAccepted:
    if not remote_ids:
        return EventAccepted(marked=0, unknown=0)
    with session_scope(runtime.engine) as session:
        marked = session.execute(update(HelpdeskTicket).where(
            HelpdeskTicket.destination == destination, HelpdeskTicket.remote_id.in_(set(remote_ids)))
            .values(replies_wanted_at=utcnow())).rowcount
    unknown = len(set(remote_ids)) - marked
    if unknown:
        log.info("%s webhook named %d ticket(s) the connector did not open", destination, unknown)
    return EventAccepted(marked=marked, unknown=max(0, unknown))
