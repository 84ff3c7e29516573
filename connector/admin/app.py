"""The admin FastAPI app: health, status, dashboard, actions and metrics over the stored state."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy import text

from connector import __version__
from connector.admin.auth import AdminAuth, RequestGuard, allowed_hosts
from connector.admin.deps import read_session
from connector.admin.schemas import Health, Status
from connector.admin.status import build_status
from connector.gmail.usage import ApiUsage
from connector.bootstrap import Runtime
from connector.store.types import utcnow


class DaemonHooks(Protocol):
    """What the running daemon lends the admin app; absent when only the database is available."""
    started_at: datetime

    def scheduler_running(self) -> bool: ...

    def next_run(self, address: str) -> datetime | None: ...

    def sync_now(self, address: str) -> None: ...     # schedule an immediate pass


# Declared only so /openapi.json documents the bearer scheme; AdminAuth does the actual check.
_bearer = HTTPBearer(auto_error=False, description="ADMIN_TOKEN; the dashboard also accepts its cookie")


UNAUTHORISED = {401: {"description": "missing or wrong admin token"}}


def require_admin(request: Request, _credentials=Depends(_bearer)) -> None:
    request.app.state.auth.require(request)


def create_app(runtime: Runtime, daemon: DaemonHooks | None = None, usage: ApiUsage | None = None) -> FastAPI:
    """`usage` (default: the runtime's, when it keeps one) adds API units to /status and /metrics."""
    # Swagger UI loads from a CDN, which a loopback-only daemon must not depend on; the schema stays.
    app = FastAPI(title="gmail-connector admin", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.runtime, app.state.daemon, app.state.auth = runtime, daemon, AdminAuth(runtime.settings.admin_token)
    app.state.usage = usage if usage is not None else getattr(runtime, "usage", None)
    settings = runtime.settings
    # getattr: older Settings objects have no ADMIN_ALLOWED_HOSTS; no extra names is the safe default.
    hosts = allowed_hosts(settings.admin_bind[0], settings.admin_token, settings.admin_allowed_hosts)
    app.add_middleware(RequestGuard, hosts=hosts)
    app.add_api_route("/healthz", _healthz, methods=["GET"], response_model=Health,
                      responses={503: {"model": Health}}, summary="liveness: database and scheduler")
    protected = APIRouter(dependencies=[Depends(require_admin)], responses=UNAUTHORISED)
    protected.add_api_route("/status", _status, methods=["GET"], response_model=Status,
                            summary="what every inbox is doing, from the database")
    protected.add_api_route("/openapi.json", lambda: JSONResponse(app.openapi()), methods=["GET"],
                            include_in_schema=False)
    app.include_router(protected)
    from connector.admin import actions, dashboard, metrics, replies

    app.include_router(actions.router, dependencies=[Depends(require_admin)], responses=UNAUTHORISED)
    app.include_router(replies.router, dependencies=[Depends(require_admin)], responses=UNAUTHORISED)
    app.include_router(metrics.router(runtime, daemon, app.state.usage), dependencies=[Depends(require_admin)],
                       responses=UNAUTHORISED)
    app.include_router(dashboard.router)  # checks auth itself: it also accepts ?token= once
    return app


def _healthz(request: Request) -> JSONResponse:
    runtime, daemon = request.app.state.runtime, request.app.state.daemon
    database = "ok"
    try:
        with read_session(runtime) as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy"; the class name is enough to act on
        database = f"error: {type(exc).__name__}"
    scheduler = "not_attached" if daemon is None else ("running" if daemon.scheduler_running() else "stopped")
    healthy = database == "ok" and scheduler != "stopped"
    body = Health(status="ok" if healthy else "unavailable", database=database, scheduler=scheduler)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


def _status(request: Request) -> dict:
    with read_session(request.app.state.runtime) as session:
        return build_status(session, utcnow(), request.app.state.daemon, request.app.state.usage)
