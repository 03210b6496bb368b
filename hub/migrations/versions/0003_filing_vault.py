"""account filing (备案) and vault bookkeeping

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

ACCOUNT_COLUMNS = [
    ("host_unit", sa.String(length=200)),
    ("operating_unit", sa.String(length=200)),
    ("responsible_person", sa.String(length=100)),
    ("responsible_phone", sa.String(length=50)),
    ("certification_name", sa.String(length=200)),
    ("launch_date", sa.Date()),
    ("ipv6", sa.Boolean()),
    ("activated_at", sa.DateTime()),
    ("closed_at", sa.DateTime()),
    ("closure_notice_text", sa.Text()),
    ("closure_notice_date", sa.Date()),
    ("verified_at", sa.DateTime()),
    ("verify_ok", sa.Boolean()),
    ("verify_message", sa.Text()),
]


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name, type_ in ACCOUNT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))

    op.create_table(
        "filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_filings_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["users.id"], name=op.f("fk_filings_submitted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
    )
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_filings_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_filings_status"), ["status"], unique=False)

    op.create_table(
        "filing_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("level_index", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"], name=op.f("fk_filing_decisions_filing_id_filings"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_filing_decisions_unit_id_units")),
        sa.ForeignKeyConstraint(["supervisor_id"], ["users.id"],
                                name=op.f("fk_filing_decisions_supervisor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filing_decisions")),
        sa.UniqueConstraint("filing_id", "level_index", name="uq_filing_decisions_filing_level"),
    )
    with op.batch_alter_table("filing_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_filing_decisions_filing_id"), ["filing_id"], unique=False)

    op.create_table(
        "vault_keys",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("check_value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_vault_keys")),
    )

    op.create_table(
        "credential_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.Column("destroy_after", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_credential_archive_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_archive")),
    )
    with op.batch_alter_table("credential_archive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_archive_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credential_archive_key_version"), ["key_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_credential_archive_destroy_after"), ["destroy_after"], unique=False)

    op.create_table(
        "rotation_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("trigger_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_rotation_tasks_account_id_accounts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["trigger_user_id"], ["users.id"],
                                name=op.f("fk_rotation_tasks_trigger_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_tasks")),
    )
    with op.batch_alter_table("rotation_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rotation_tasks_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rotation_tasks_status"), ["status"], unique=False)

    # Accounts created before filing existed were in use already: record them as filed.
    op.execute("UPDATE accounts SET activated_at = created_at WHERE status = 'active' AND activated_at IS NULL")


def downgrade() -> None:
    for table, indexes in (
        ("rotation_tasks", ["ix_rotation_tasks_status", "ix_rotation_tasks_account_id"]),
        ("credential_archive", ["ix_credential_archive_destroy_after", "ix_credential_archive_key_version",
                                "ix_credential_archive_account_id"]),
        ("filing_decisions", ["ix_filing_decisions_filing_id"]),
        ("filings", ["ix_filings_status", "ix_filings_account_id"]),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for ix in indexes:
                batch_op.drop_index(ix)
        op.drop_table(table)
    op.drop_table("vault_keys")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name, _type in reversed(ACCOUNT_COLUMNS):
            batch_op.drop_column(name)
