"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Index, MetaData, inspect
from sqlmodel import SQLModel

import connector.store.models  # noqa: F401  (registers the tables)
from connector.cli import main
from connector.store.db import make_engine, upgrade
from connector.store.migrate import current_revision, head_revision

CORE_TABLES = {"inboxes", "credentials", "raw_mails", "tickets", "comments", "ticket_threads",
               "stored_attachments", "suspended_mails"}
EXPECTED_TABLES = set(SQLModel.metadata.tables) | {"alembic_version"}


def _differences(engine, metadata=SQLModel.metadata):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_upgrade_from_empty_reaches_head_with_exactly_the_model_tables(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert CORE_TABLES <= EXPECTED_TABLES
        assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
        upgrade(engine)  # a second start finds nothing to do
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(engine):
    assert _differences(engine) == []


def test_the_schema_comparison_does_notice_a_drift(engine):
    # Guards the test above: an index the migration never created must show up as a difference.
    drifted = MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(drifted)
    Index("ix_tickets_status_not_migrated", drifted.tables["tickets"].c.status)
    kinds = [diff[0] for diff in _differences(engine, drifted)]
    assert "add_index" in kinds


def test_db_commands_report_and_migrate(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli' / 'connector.db'}")
    no_env_file = "/dev/null"
    assert main(["--env-file", no_env_file, "db", "current"]) == 1
    assert "not migrated" in capsys.readouterr().out
    assert main(["--env-file", no_env_file, "db", "upgrade"]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out
    assert main(["--env-file", no_env_file, "db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{head_revision()} (head)"


def test_db_upgrade_failure_hides_the_password(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://helpdesk:hunter2secret@127.0.0.1:1/helpdesk")
    assert main(["--env-file", "/dev/null", "db", "upgrade"]) == 1
    captured = capsys.readouterr()
    assert "cannot migrate" in captured.err
    assert "hunter2secret" not in captured.err + captured.out


def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(empty_database_url):
    from alembic import command

    from connector.store.migrate import alembic_config

    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        command.downgrade(alembic_config(engine), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(engine)
        assert _differences(engine) == []
    finally:
        engine.dispose()
