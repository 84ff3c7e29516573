"""DNS health: the latest SPF / DKIM / DMARC check of each external address's domain.

Revision ID: 0006
Revises: 0005

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dns_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overall", sa.String(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dns_checks"),
        sa.UniqueConstraint("domain", name="uq_dns_checks_domain"),
    )


def downgrade() -> None:
    op.drop_table("dns_checks")
