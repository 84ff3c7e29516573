"""Support addresses and forwarding.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved in the chain so parallel work keeps one head; filled in by the work it names.
    pass


def downgrade() -> None:
    pass
