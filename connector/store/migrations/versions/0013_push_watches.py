"""Gmail push per inbox: push_watches (the users.watch and what notifications asked for).

Revision ID: 0013
Revises: 0012

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), sa.ForeignKey("inboxes.id", ondelete="CASCADE",
                                                          name="fk_push_watches_inbox_id_inboxes"), nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("expiration", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("wanted_history_id", sa.BigInteger(), nullable=True),
        sa.Column("last_notification_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("recovered_by_poll", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_push_watches"),
        sa.UniqueConstraint("inbox_id", name="uq_push_watches_inbox_id"),
    )


def downgrade() -> None:
    op.drop_table("push_watches")
