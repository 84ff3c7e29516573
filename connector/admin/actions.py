"""Admin actions and lists: sync/pause/resume an inbox, recover/delete held-back mail, read tickets."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from connector.admin.schemas import InboxAction, SuspendedAction, SuspendedRow, TicketDetail, TicketRow
from connector.admin.deps import read_session
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox, set_state
from connector.store.queries import ticket_detail, ticket_rows
from connector.store.suspended import delete_suspended, suspended_rows
from connector.ticketing.ticket_mail import recover_suspended_mail

router = APIRouter()
_NOT_FOUND = {404: {"description": "no such inbox, ticket or held-back mail"}}
# Ids are 64-bit row ids: a larger number is a 422, not an overflow inside the database driver.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]   # the id columns are 32-bit on PostgreSQL


def done(request: Request, result) -> Response:
    """A browser form goes back to the dashboard (POST, then 303); API clients get JSON."""
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/", status_code=303)
    return JSONResponse(result.model_dump(exclude_none=True))


def _change_state(request: Request, address: str, state: str) -> InboxAction:
    with session_scope(request.app.state.runtime.engine) as session:
        inbox = get_inbox(session, address)
        if inbox is None:
            raise HTTPException(404, "no connected inbox with this address")
        set_state(session, inbox, state)
        return InboxAction(address=inbox.address, state=inbox.state)


@router.post("/inboxes/{address}/sync", response_model=InboxAction,
             responses={**_NOT_FOUND, 409: {"description": "no daemon runs here, or the inbox is not scheduled"}})
def sync_inbox_now(address: str, request: Request) -> Response:
    """Ask the running daemon for an immediate pass over this inbox."""
    daemon = request.app.state.daemon
    with read_session(request.app.state.runtime) as session:
        inbox = get_inbox(session, address)
        if inbox is None:
            raise HTTPException(404, "no connected inbox with this address")
        result = InboxAction(address=inbox.address, state=inbox.state, sync="scheduled")
    if daemon is None:
        raise HTTPException(409, "the daemon is not running here; start `gmail-connector run`")
    try:
        daemon.sync_now(result.address)
    except LookupError:
        raise HTTPException(409, "this inbox has no scheduled sync (paused or needs re-authorisation); "
                                 "resume it or connect it again first") from None
    return done(request, result)


@router.post("/inboxes/{address}/pause", response_model=InboxAction, responses=_NOT_FOUND)
def pause_inbox(address: str, request: Request) -> Response:
    return done(request, _change_state(request, address, "paused"))


@router.post("/inboxes/{address}/resume", response_model=InboxAction, responses=_NOT_FOUND)
def resume_inbox(address: str, request: Request) -> Response:
    return done(request, _change_state(request, address, "active"))


@router.get("/suspended", response_model=list[SuspendedRow])
def list_suspended(request: Request, state: Literal["suspended", "recovered", "deleted"] = "suspended") -> list[dict]:
    with read_session(request.app.state.runtime) as session:
        return suspended_rows(session, state)


@router.post("/suspended/{suspended_id}/recover", response_model=SuspendedAction,
             responses={**_NOT_FOUND, 409: {"description": "Gmail still refuses to return the held-back message"}})
def recover(suspended_id: RowId, request: Request) -> Response:
    """Release held-back mail: it becomes a ticket (or a comment) with the hold-back rules bypassed."""
    from jobs.refetch_held_back import StillRefused, refetch_held_back

    runtime = request.app.state.runtime
    try:
        refetch_held_back(runtime, suspended_id)
    except StillRefused as exc:
        raise HTTPException(409, f"still held back: {exc}") from None
    outcome = recover_suspended_mail(runtime.ticketing, suspended_id)
    if outcome is None:
        raise HTTPException(404, "no held-back mail with this id (or it was already recovered or deleted)")
    return done(request, SuspendedAction(id=suspended_id, state="recovered", outcome=outcome.text))


@router.post("/suspended/{suspended_id}/delete", response_model=SuspendedAction, responses=_NOT_FOUND)
def delete(suspended_id: RowId, request: Request) -> Response:
    """Dismiss held-back mail; its raw bytes stay stored."""
    with session_scope(request.app.state.runtime.engine) as session:
        if not delete_suspended(session, suspended_id):
            raise HTTPException(404, "no held-back mail with this id (or it was already recovered or deleted)")
    return done(request, SuspendedAction(id=suspended_id, state="deleted"))


@router.get("/tickets", response_model=list[TicketRow])
def list_tickets(request: Request) -> list[dict]:
    with read_session(request.app.state.runtime) as session:
        return ticket_rows(session)


@router.get("/tickets/{ticket_id}", response_model=TicketDetail, responses=_NOT_FOUND)
def show_ticket(ticket_id: RowId, request: Request) -> dict:
    with read_session(request.app.state.runtime) as session:
        detail = ticket_detail(session, ticket_id)
    if detail is None:
        raise HTTPException(404, "no ticket with this id")
    return detail
