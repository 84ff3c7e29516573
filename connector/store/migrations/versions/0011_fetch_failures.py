"""Messages Gmail would not return yet, counted: fetch_failures (given up only after repeated failures over an hour).

Revision ID: 0011
Revises: 0010

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fetch_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), sa.ForeignKey("inboxes.id", ondelete="CASCADE",
                                                          name="fk_fetch_failures_inbox_id_inboxes"), nullable=False),
        sa.Column("gmail_id", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fetch_failures"),
        sa.UniqueConstraint("inbox_id", "gmail_id", name="uq_fetch_failures_inbox_id_gmail_id"),
    )


def downgrade() -> None:
    op.drop_table("fetch_failures")
