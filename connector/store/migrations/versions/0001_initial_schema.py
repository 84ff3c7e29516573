"""Initial schema: inboxes, credentials, raw mail, tickets, comments, attachments, suspended mail.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written against plain SQLAlchemy types so it stays frozen when the models change later.
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def _str(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, TS, nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}",
                                   ondelete=ondelete)


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=False)


def upgrade() -> None:
    op.create_table(
        "inboxes", _id(), _str("address"), _str("group"), _str("mode"), _str("credential_kind"),
        _text("credential_ref"), _str("state"), _str("history_id", True),
        sa.Column("backfill_done", sa.Boolean(), nullable=False),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=True),
        _ts("last_sync_at", True), _ts("last_success_at", True), _text("last_error", True),
        _ts("last_error_at", True), _ts("next_run_at", True), _ts("backoff_until", True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("imported_total", sa.Integer(), nullable=False),
        _ts("created_at"), _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_inboxes"),
        sa.UniqueConstraint("address", name="uq_inboxes_address"),
    )
    op.create_table(
        "credentials", _id(), sa.Column("inbox_id", sa.Integer(), nullable=False), _str("kind"),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False), _ts("created_at"), _ts("updated_at"),
        _fk("credentials", "inbox_id", "inboxes", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
        sa.UniqueConstraint("inbox_id", name="uq_credentials_inbox_id"),
    )
    op.create_table(
        "raw_mails", _id(), _str("source"), sa.Column("inbox_id", sa.Integer(), nullable=True),
        _str("gmail_id", True), _str("gmail_thread_id", True), _text("label_ids"), _str("message_id"),
        _str("from_email"), _text("subject"), _str("sha256"), sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False), _ts("received_at"), _ts("internal_date", True),
        _str("envelope_from", True), _text("envelope_to"), _str("state"), _text("outcome"),
        _text("error", True), _ts("processed_at", True),
        _fk("raw_mails", "inbox_id", "inboxes", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_raw_mails"),
        sa.UniqueConstraint("inbox_id", "gmail_id", name="uq_raw_mails_inbox_id_gmail_id"),
    )
    _index("raw_mails", "from_email", "received_at")
    _index("raw_mails", "message_id")
    _index("raw_mails", "state")
    _create_ticket_tables()


def _create_ticket_tables() -> None:
    op.create_table(
        "tickets", _id(), _text("subject"), _str("status"), _str("requester_name"), _str("requester_email"),
        _str("group"), sa.Column("inbox_id", sa.Integer(), nullable=True), _str("received_at_address"),
        _str("flags"), _str("gmail_thread_id", True), _ts("created_at"), _ts("updated_at"),
        _fk("tickets", "inbox_id", "inboxes", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
    )
    _index("tickets", "requester_email")
    op.create_table(
        "comments", _id(), sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("raw_mail_id", sa.Integer(), nullable=True), _str("author_name"), _str("author_email"),
        _text("body_text"), _text("body_html", True), sa.Column("public", sa.Boolean(), nullable=False),
        _str("message_id"), _str("direction"), _text("notes"), _ts("created_at"),
        _fk("comments", "ticket_id", "tickets", "CASCADE"),
        _fk("comments", "raw_mail_id", "raw_mails", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.UniqueConstraint("ticket_id", "message_id", name="uq_comments_ticket_id_message_id"),
    )
    _index("comments", "message_id")
    _index("comments", "ticket_id")
    _create_held_mail_threads_and_attachments()


def _create_held_mail_threads_and_attachments() -> None:
    op.create_table(
        "suspended_mails", _id(), sa.Column("raw_mail_id", sa.Integer(), nullable=False), _str("kind"),
        _text("reason"), _str("from_email"), _text("subject"), _ts("received_at"), _str("state"),
        _ts("created_at"),
        _fk("suspended_mails", "raw_mail_id", "raw_mails", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_suspended_mails"),
        sa.UniqueConstraint("raw_mail_id", name="uq_suspended_mails_raw_mail_id"),
    )
    _index("suspended_mails", "state")
    op.create_table(
        "ticket_threads", _id(), sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False), _str("gmail_thread_id"),
        _fk("ticket_threads", "ticket_id", "tickets", "CASCADE"),
        _fk("ticket_threads", "inbox_id", "inboxes", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_threads"),
        sa.UniqueConstraint("inbox_id", "gmail_thread_id", name="uq_ticket_threads_inbox_id_gmail_thread_id"),
    )
    _index("ticket_threads", "ticket_id")
    op.create_table(
        "stored_attachments", _id(), sa.Column("comment_id", sa.Integer(), nullable=False), _str("filename"),
        _str("content_type"), sa.Column("size", sa.Integer(), nullable=False), _str("sha256"),
        _str("content_id", True), sa.Column("inline", sa.Boolean(), nullable=False), _str("path"),
        _fk("stored_attachments", "comment_id", "comments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_stored_attachments"),
    )
    _index("stored_attachments", "comment_id")
    _index("stored_attachments", "sha256")


def downgrade() -> None:
    for table in ("stored_attachments", "ticket_threads", "suspended_mails", "comments", "tickets",
                  "raw_mails", "credentials", "inboxes"):
        op.drop_table(table)
