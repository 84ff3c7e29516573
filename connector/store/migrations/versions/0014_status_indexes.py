"""Indexes the status views count and page from: recent mail per inbox, tickets and held-back mail.

Revision ID: 0014
Revises: 0013

With them every figure of GET /status is an index range or an index-only scan, and every list
page a keyset seek, so the status costs the same at 1,000 inboxes as at ten.
"""
from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = (
    ("raw_mails", ("inbox_id", "received_at")),
    ("raw_mails", ("received_at", "inbox_id")),
    ("tickets", ("status", "id")),
    ("tickets", ("inbox_id", "id")),
    ("suspended_mails", ("state", "kind")),
    ("suspended_mails", ("state", "received_at", "id")),
)


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, columns in INDEXES:
        op.create_index(_name(table, columns), table, list(columns), unique=False)


def downgrade() -> None:
    for table, columns in reversed(INDEXES):
        op.drop_index(_name(table, columns), table_name=table)
