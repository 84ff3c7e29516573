"""Credential scopes and consent: granted scopes per inbox, service-account keys per domain.

Revision ID: 0004
Revises: 0003

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credential_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["inbox_id"], ["inboxes.id"], name="fk_credential_grants_inbox_id_inboxes",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_credential_grants"),
        sa.UniqueConstraint("inbox_id", name="uq_credential_grants_inbox_id"),
    )
    op.create_table(
        "service_account_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("client_email", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_account_keys"),
        sa.UniqueConstraint("domain", name="uq_service_account_keys_domain"),
    )


def downgrade() -> None:
    op.drop_table("service_account_keys")
    op.drop_table("credential_grants")
