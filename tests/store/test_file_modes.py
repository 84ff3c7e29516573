"""Files holding mail or secrets are 0600 and our directories 0700, even under a umask that would make them 0644."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from connector.store.attachment_files import write_attachment
from connector.store.db import make_engine, upgrade
from oauth.vault import KEY_FILE_NAME, open_vault
from sandbox.server import SandboxServer


@pytest.fixture(autouse=True)
def usual_umask():
    """022, the common default: without care every file here would be created 0644, every directory 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_store_and_its_wal_are_ours_alone(tmp_path):
    database = tmp_path / "data" / "connector.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        upgrade(engine)                  # writes: SQLite opens the -wal and -shm files
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
            companions = {name: mode(tmp_path / "data" / name) for name in ("connector.db-wal", "connector.db-shm")}
    finally:
        engine.dispose()
    assert mode(database) == 0o600
    assert companions == {"connector.db-wal": 0o600, "connector.db-shm": 0o600}
    assert mode(tmp_path / "data") == 0o700


def test_an_existing_store_left_readable_is_restricted(tmp_path, caplog):
    database = tmp_path / "connector.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    for each in (database, tmp_path / "connector.db-wal"):
        each.touch()
        each.chmod(0o644)                # as releases before this one created them

    make_engine(f"sqlite:///{database}").dispose()

    assert mode(database) == 0o600 and mode(tmp_path / "connector.db-wal") == 0o600
    assert "was readable by others (mode 644); it is now 600" in caplog.text


def test_attachments_are_ours_alone(tmp_path):
    attachments = tmp_path / "data" / "attachments"
    (tmp_path / "data").mkdir()

    sha256, relative = write_attachment(attachments, b"%PDF-1.4 invoice")

    assert mode(attachments / relative) == 0o600
    assert mode(attachments) == 0o700 and mode((attachments / relative).parent) == 0o700
    assert [p.name for p in (attachments / relative).parent.iterdir()] == [sha256]   # no temporary left


def test_the_token_key_file_and_its_directory_are_ours_alone(tmp_path):
    open_vault("", tmp_path / "data")
    assert mode(tmp_path / "data" / KEY_FILE_NAME) == 0o600
    assert mode(tmp_path / "data") == 0o700


def test_the_sandbox_state_files_holding_tokens_are_ours_alone(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "support@example.com.json").write_text("{}")      # a copy an older run left 0644
    server = SandboxServer(mailboxes=["support@example.com"], state_dir=state)
    server.core.base_url = server.url = "http://127.0.0.1:1"   # no need to listen to write the files

    written = server.write_state_files()

    assert {p.name: mode(p) for p in written} == {"client_secret.json": 0o600, "service_account.json": 0o600,
                                                  "support@example.com.json": 0o600}
    assert json.loads((state / "support@example.com.json").read_text())["refresh_token"]


def test_a_sandbox_state_directory_we_create_is_ours_alone(tmp_path):
    server = SandboxServer(mailboxes=["support@example.com"], state_dir=tmp_path / "new-state")
    server.write_state_files()
    assert mode(tmp_path / "new-state") == 0o700


def test_a_data_directory_from_an_older_release_is_closed_when_the_daemon_starts(tmp_path, caplog):
    from connector.bootstrap import bootstrap, daemon_parts
    from connector.settings import Settings

    data = tmp_path / "data"
    old_file = data / "attachments" / "ab" / "ab12"
    old_file.parent.mkdir(parents=True)
    old_file.write_bytes(b"an invoice")
    old_file.chmod(0o644)
    old_file.parent.chmod(0o755)
    (data / "attachments").chmod(0o755)
    elsewhere = tmp_path / "not-ours.txt"
    elsewhere.write_text("left alone")
    elsewhere.chmod(0o644)
    (data / "link").symlink_to(elsewhere)
    runtime = bootstrap(Settings(data_dir=data))
    try:
        daemon_parts(runtime)
    finally:
        runtime.close()
    assert mode(old_file) == 0o600 and mode(old_file.parent) == 0o700 and mode(data / "attachments") == 0o700
    assert mode(elsewhere) == 0o644, "a symbolic link is not followed"
    assert "under" in caplog.text and "now ours alone" in caplog.text
