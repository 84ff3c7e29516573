"""Alembic migration environment, shipped inside the package so `db upgrade` works anywhere."""
