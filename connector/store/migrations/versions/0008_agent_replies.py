"""Agents' answers from the helpdesk: where reading them got to, and each reply's source key (once only).

Revision ID: 0008
Revises: 0007

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_cursors",
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("cursor", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("destination", name="pk_helpdesk_cursors"),
    )
    with op.batch_alter_table("outgoing_mails") as batch:
        batch.add_column(sa.Column("source_key", sa.String(), nullable=True))
        batch.create_unique_constraint("uq_outgoing_mails_source_key", ["source_key"])


def downgrade() -> None:
    with op.batch_alter_table("outgoing_mails") as batch:
        batch.drop_constraint("uq_outgoing_mails_source_key", type_="unique")
        batch.drop_column("source_key")
    op.drop_table("helpdesk_cursors")
