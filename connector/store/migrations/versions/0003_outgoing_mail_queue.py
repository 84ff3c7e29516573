"""Outgoing mail queue.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved in the chain so parallel work keeps one head; filled in by the work it names.
    pass


def downgrade() -> None:
    pass
