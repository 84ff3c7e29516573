"""Forwarding changes Gmail's forwarding-rules limit refused wait: external_addresses.retry_at, rule_refusals.

Revision ID: 0012
Revises: 0011

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("external_addresses") as batch:
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rule_refusals", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("external_addresses") as batch:
        batch.drop_column("rule_refusals")
        batch.drop_column("retry_at")
