"""Inbox leases and daemon heartbeats: several daemons on one PostgreSQL share the inboxes.

Revision ID: 0005
Revises: 0004

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox_leases",
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(), nullable=True),
        sa.Column("acquired_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["inbox_id"], ["inboxes.id"], name="fk_inbox_leases_inbox_id_inboxes",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("inbox_id", name="pk_inbox_leases"),
    )
    op.create_index("ix_inbox_leases_holder", "inbox_leases", ["holder"], unique=False)
    op.create_table(
        "daemons",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_daemons"),
    )


def downgrade() -> None:
    op.drop_table("daemons")
    op.drop_index("ix_inbox_leases_holder", table_name="inbox_leases")
    op.drop_table("inbox_leases")
