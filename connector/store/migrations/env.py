"""Alembic environment: runs migrations on the engine handed over by connector.store.migrate."""
from alembic import context
from sqlmodel import SQLModel

import connector.store.models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `gmail-connector db upgrade`")
run_migrations_online()
