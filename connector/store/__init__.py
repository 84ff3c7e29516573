"""Storage: SQLModel tables, the engine, Alembic migrations and the ticket store."""
