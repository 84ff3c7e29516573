"""Outgoing mail queue: replies stored before they are sent.

Revision ID: 0003
Revises: 0002

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _str(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outgoing_mails", sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False), sa.Column("inbox_id", sa.Integer(), nullable=True),
        _str("from_address"), _str("from_name"), _text("to_addresses"), _text("cc_addresses"), _text("subject"),
        _text("body_text"), _text("attachments"), sa.Column("private", sa.Boolean(), nullable=False),
        _str("message_id"), _str("in_reply_to", True), _text("references"), _str("gmail_thread_id", True),
        _str("transport"), _str("state"), sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True), _text("last_error", True), _str("sent_gmail_id", True),
        sa.Column("sent_at", TS, nullable=True), sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_outgoing_mails_ticket_id_tickets",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["inbox_id"], ["inboxes.id"], name="fk_outgoing_mails_inbox_id_inboxes",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_outgoing_mails"),
        sa.UniqueConstraint("message_id", name="uq_outgoing_mails_message_id"),
    )
    op.create_index("ix_outgoing_mails_ticket_id", "outgoing_mails", ["ticket_id"], unique=False)
    op.create_index("ix_outgoing_mails_state_next_attempt_at", "outgoing_mails", ["state", "next_attempt_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_table("outgoing_mails")
