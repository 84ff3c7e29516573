"""Helpdesk events remember which process claimed them, so a restarted daemon frees a dead one's claims.

Revision ID: 0009
Revises: 0008

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("helpdesk_events") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("helpdesk_events") as batch:
        batch.drop_column("claimed_by")
