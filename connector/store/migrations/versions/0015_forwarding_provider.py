"""External addresses of any mail provider: external_addresses.provider (gmail | other).

Revision ID: 0015
Revises: 0014

Every address stored before was set up through Gmail, so existing rows get "gmail". Forwarded
Gmail addresses need no column: Inbox.mode already has the value "forwarding".
Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("external_addresses") as batch:
        batch.add_column(sa.Column("provider", sa.String(), nullable=False, server_default="gmail"))


def downgrade() -> None:
    with op.batch_alter_table("external_addresses") as batch:
        batch.drop_column("provider")
