"""Support addresses and forwarding: one row per external address forwarded to a support address.

Revision ID: 0002
Revises: 0001

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    def text(name: str, nullable: bool = False) -> sa.Column:
        return sa.Column(name, sa.Text(), nullable=nullable)

    def string(name: str, nullable: bool = False) -> sa.Column:
        return sa.Column(name, sa.String(), nullable=nullable)

    def ts(name: str, nullable: bool = True) -> sa.Column:
        return sa.Column(name, TS, nullable=nullable)

    op.create_table(
        "external_addresses", sa.Column("id", sa.Integer(), nullable=False),
        string("external_address"), string("support_address"), string("group"), string("state"),
        text("failure_reason", True), string("setup_method", True), text("criteria"), string("disposition"),
        string("filter_id", True), string("confirmation_code", True), text("confirmation_link", True),
        ts("confirmation_received_at"), string("verification_token", True), ts("verification_sent_at"),
        ts("verified_at"), ts("last_check_at"), ts("created_at", False), ts("updated_at", False),
        sa.PrimaryKeyConstraint("id", name="pk_external_addresses"),
        sa.UniqueConstraint("external_address", name="uq_external_addresses_external_address"),
        sa.UniqueConstraint("support_address", name="uq_external_addresses_support_address"),
    )


def downgrade() -> None:
    op.drop_table("external_addresses")
