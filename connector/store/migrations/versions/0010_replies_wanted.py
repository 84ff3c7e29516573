"""A helpdesk's webhook marks its ticket as having agents' answers to read: helpdesk_tickets.replies_wanted_at.

Revision ID: 0010
Revises: 0009

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("helpdesk_tickets") as batch:
        batch.add_column(sa.Column("replies_wanted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_helpdesk_tickets_replies_wanted_at", "helpdesk_tickets", ["replies_wanted_at"])


def downgrade() -> None:
    op.drop_index("ix_helpdesk_tickets_replies_wanted_at", "helpdesk_tickets")
    with op.batch_alter_table("helpdesk_tickets") as batch:
        batch.drop_column("replies_wanted_at")
