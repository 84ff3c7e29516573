"""The operator's environment for the `auth` command-line tests: DATA_DIR, DATABASE_URL and the sandbox."""
from __future__ import annotations

import pytest
from sqlalchemy import Engine, event


@pytest.fixture
def engines_disposed():
    """Disposes, when the test ends, every engine the test connected through."""
    # main() returns its own connections, but the runtimes these tests build beside it (`runtime_of`)
    # are left to the garbage collector; on PostgreSQL their pooled connections would then raise
    # ResourceWarning in whichever later test the collector happens to run.
    engines: list[Engine] = []
    remember = lambda connection: engines.append(connection.engine)  # noqa: E731
    event.listen(Engine, "engine_connect", remember)
    yield
    event.remove(Engine, "engine_connect", remember)
    for engine in engines:
        engine.dispose()


@pytest.fixture
def env(tmp_path, sandbox, database_url, monkeypatch, engines_disposed):
    """The environment main() reads; `sandbox` is each test module's own, with the mailboxes it needs."""
    for key in ("TOKEN_ENCRYPTION_KEY", "LOG_LEVEL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GMAIL_API_ENDPOINT", sandbox.url)
    return tmp_path
