"""/healthz fails when the store cannot write: a real write probe, free space and a probe file in DATA_DIR."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import make_url

from connector.admin.app import HealthCheck
from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.db import make_engine

from .conftest import FakeDaemon


@dataclass(frozen=True)
class DemandingSettings(Settings):
    """Settings as they will be once HEALTH_MIN_FREE_BYTES exists, asking for more room than any disk has."""
    health_min_free_bytes: int = 10**18


def count_write_probes(engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn, _cursor, statement, *_args):
        if statement.startswith("UPDATE alembic_version"):
            seen.append(statement)

    return seen


def test_a_healthy_daemon_says_so_and_leaves_nothing_behind(runtime, serve):
    response = serve(runtime, FakeDaemon()).get("/healthz")
    assert response.status_code == 200
    assert response.json()["database_write"] == response.json()["disk"] == "ok"
    assert 0 < response.json()["disk_free_bytes"] <= shutil.disk_usage(runtime.settings.data_dir).total
    assert [p.name for p in runtime.settings.data_dir.iterdir() if p.name.startswith(".healthz")] == []


def read_only_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///file:{url.database}?mode=ro&uri=true"
    url = url.update_query_dict({"options": "-c default_transaction_read_only=on"})
    return url.render_as_string(hide_password=False)


def test_a_database_that_reads_but_cannot_write_is_unhealthy(runtime, serve):
    read_only = make_engine(read_only_url(runtime.settings.database_url))
    try:
        response = serve(Runtime(settings=runtime.settings, engine=read_only), FakeDaemon()).get("/healthz")
    finally:
        read_only.dispose()
    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "unavailable" and health["database"] == "ok"
    assert health["database_write"] in ("error: OperationalError: attempt to write a readonly database",
                                        "error: InternalError (SQLSTATE 25006)")     # read_only_sql_transaction


def test_too_little_free_space_is_unhealthy_with_the_figure(runtime, serve):
    settings = DemandingSettings(data_dir=runtime.settings.data_dir, database_url=runtime.settings.database_url)
    response = serve(Runtime(settings=settings, engine=runtime.engine), FakeDaemon()).get("/healthz")
    assert response.status_code == 503
    health = response.json()
    assert re.fullmatch(r"error: [\d.]+ MB free in DATA_DIR, under the \d+ MB minimum", health["disk"]), health
    assert health["disk_free_bytes"] > 0 and health["database_write"] == "ok"


def test_a_missing_data_dir_is_unhealthy(runtime, serve, tmp_path):
    settings = Settings(data_dir=tmp_path / "gone", database_url=runtime.settings.database_url)
    health = serve(Runtime(settings=settings, engine=runtime.engine), FakeDaemon()).get("/healthz").json()
    assert health["status"] == "unavailable"
    assert health["disk"] == "error: cannot measure DATA_DIR: No such file or directory"
    assert health["disk_free_bytes"] is None


def test_a_monitor_polling_fast_gets_one_probe_per_interval(runtime, serve):
    probes = count_write_probes(runtime.engine)
    client = serve(runtime, FakeDaemon())
    assert all(client.get("/healthz").status_code == 200 for _ in range(20))
    assert len(probes) == 1


def test_the_verdict_is_worked_out_again_after_the_interval(runtime):
    probes, now = count_write_probes(runtime.engine), [100.0]
    daemon = FakeDaemon()
    health = HealthCheck(runtime, daemon, min_free_bytes=0, ttl=2.0, clock=lambda: now[0])

    assert health.verdict().status == "ok"
    daemon.running = False
    now[0] += 1.9
    assert health.verdict().status == "ok" and len(probes) == 1       # still the cached verdict
    now[0] += 0.2
    assert health.verdict().scheduler == "stopped" and len(probes) == 2
