"""Helpdesk outbox: events to deliver, helpdesk tickets, the installation key, and comments' Cc.

Revision ID: 0007
Revises: 0006

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("remote_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_helpdesk_events_ticket_id_tickets",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], name="fk_helpdesk_events_comment_id_comments",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_helpdesk_events"),
    )
    op.create_index("ix_helpdesk_events_state_next_attempt_at", "helpdesk_events", ["state", "next_attempt_at"])
    op.create_index("ix_helpdesk_events_ticket_id_state", "helpdesk_events", ["ticket_id", "state"])
    op.create_table(
        "helpdesk_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("remote_id", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_helpdesk_tickets_ticket_id_tickets",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_helpdesk_tickets"),
        sa.UniqueConstraint("destination", "ticket_id", name="uq_helpdesk_tickets_destination_ticket_id"),
    )
    op.create_index("ix_helpdesk_tickets_destination_remote_id", "helpdesk_tickets", ["destination", "remote_id"])
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_installation"),
    )
    op.bulk_insert(installation, [{"id": 1, "key": secrets.token_hex(4),
                                   "created_at": datetime.now(timezone.utc)}])
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("cc_addresses", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("cc_addresses")
    op.drop_table("installation")
    op.drop_index("ix_helpdesk_tickets_destination_remote_id", table_name="helpdesk_tickets")
    op.drop_table("helpdesk_tickets")
    op.drop_index("ix_helpdesk_events_ticket_id_state", table_name="helpdesk_events")
    op.drop_index("ix_helpdesk_events_state_next_attempt_at", table_name="helpdesk_events")
    op.drop_table("helpdesk_events")
