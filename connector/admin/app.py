"""The admin FastAPI app: health, status, dashboard, actions and metrics over the stored state."""
from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Callable, Protocol

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy import text

from connector import __version__
from connector.admin import attachment_links, helpdesk_events
from connector.admin.auth import AdminAuth, RequestGuard, allowed_hosts
from connector.admin.body_limit import BodyLimit, body_limits
from connector.admin.deps import read_session
from connector.admin.schemas import Health
from connector.gmail.usage import ApiUsage
from connector.bootstrap import Runtime
from connector.store.db import probe_write

# Each verdict writes to the database and to DATA_DIR; a monitor polling faster gets the last one.
HEALTH_CACHE_SECONDS = 2.0
# Below this, the next few mails (attachments, WAL growth) would fail to store: unhealthy before full.


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
    # Added last, so outermost: an oversized body is refused before any other layer, auth included.
    app.add_middleware(BodyLimit, limit_for=body_limits(settings.admin_max_body_bytes, app.state.auth.allows))
    app.state.health = HealthCheck(runtime, daemon, settings.health_min_free_bytes)
    app.add_api_route("/healthz", _healthz, methods=["GET"], response_model=Health,
                      responses={503: {"model": Health}},
                      summary="liveness: the database reads and writes, DATA_DIR has room, the scheduler runs")
    app.include_router(attachment_links.router(runtime))  # its signature is the credential, not the token
    app.include_router(helpdesk_events.router(runtime))   # so is the helpdesk's own
    protected = APIRouter(dependencies=[Depends(require_admin)], responses=UNAUTHORISED)
    from connector.admin import status_routes

    protected.include_router(status_routes.router)   # /status and its paged lists under /status/
    protected.add_api_route("/openapi.json", lambda: JSONResponse(app.openapi()), methods=["GET"],
                            include_in_schema=False)
    app.include_router(protected)
    from connector.admin import actions, dashboard, metrics, replies

    app.include_router(actions.router, dependencies=[Depends(require_admin)], responses=UNAUTHORISED)
    app.include_router(replies.router, dependencies=[Depends(require_admin)], responses=UNAUTHORISED)
    app.include_router(metrics.router(runtime, daemon, app.state.usage), dependencies=[Depends(require_admin)],
                       responses=UNAUTHORISED)
    app.include_router(dashboard.router)  # checks auth itself: it also accepts ?token= once
    from connector.admin import pages
    app.include_router(pages.router)      # the dashboard's inbox, ticket and search pages; same auth as "/"
    return app


def _healthz(request: Request) -> JSONResponse:
    body = request.app.state.health.verdict()
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)


class HealthCheck:
    """The /healthz verdict, worked out at most once per `ttl` seconds however many ask at once."""

    def __init__(self, runtime: Runtime, daemon: DaemonHooks | None, min_free_bytes: int,
                 ttl: float = HEALTH_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.runtime, self.daemon, self.min_free_bytes = runtime, daemon, min_free_bytes
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        self._last: Health | None = None
        self._at = 0.0

    def verdict(self) -> Health:
        # Callers wait for a probe already running instead of starting their own.
        with self._lock:
            if self._last is None or self.clock() - self._at >= self.ttl:
                self._last = self.check()
                self._at = self.clock()      # after the probe: a slow one must not expire at once
            return self._last

    def check(self) -> Health:
        runtime, daemon = self.runtime, self.daemon
        database = _outcome(lambda: _read(runtime))
        # A database that cannot be read cannot be written; one timeout is enough to wait for.
        database_write = _outcome(lambda: probe_write(runtime.engine)) if database == "ok" else "not_checked"
        disk, free = disk_health(runtime.settings.data_dir, self.min_free_bytes)
        scheduler = "not_attached" if daemon is None else ("running" if daemon.scheduler_running() else "stopped")
        healthy = database == database_write == disk == "ok" and scheduler != "stopped"
        return Health(status="ok" if healthy else "unavailable", database=database, database_write=database_write,
                      disk=disk, disk_free_bytes=free, scheduler=scheduler)


def _read(runtime: Runtime) -> None:
    with read_session(runtime) as session:
        session.execute(text("SELECT 1"))


def _outcome(probe: Callable[[], None]) -> str:
    """The probe's outcome: "ok" or "error: ...". /healthz needs no token, so only text that cannot
    carry a secret is shown: the class, SQLite's own fixed phrase ("database or disk is full"), a SQLSTATE."""
    try:
        probe()
    except Exception as exc:  # any failure means "not healthy"
        cause = getattr(exc, "orig", None)
        if isinstance(cause, sqlite3.Error):
            return f"error: {type(exc).__name__}: {cause}"
        sqlstate = getattr(cause, "sqlstate", None)
        return f"error: {type(exc).__name__}" + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    return "ok"


def disk_health(data_dir: Path, min_free_bytes: int) -> tuple[str, int | None]:
    """("ok" or why not, free bytes) for DATA_DIR: enough room, and a file can really be written."""
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError as exc:
        return f"error: cannot measure DATA_DIR: {exc.strerror}", None
    if free < min_free_bytes:
        return f"error: {free / 1e6:.1f} MB free in DATA_DIR, under the {min_free_bytes / 1e6:.0f} MB minimum", free
    # Free space can be reported while writes still fail (quota, inodes, read-only remount).
    probe = data_dir / f".healthz-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0" * 4096)       # a whole block, so the file system must allocate one
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        return f"error: cannot write a file in DATA_DIR: {exc.strerror}", free
    return "ok", free
