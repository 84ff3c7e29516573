"""Tests of the storage layer against real SQLite and PostgreSQL."""
