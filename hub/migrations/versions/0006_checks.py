"""content checks: lexicon additions and disables, lexicon versions, finding overrides,
re-scan runs and findings, check alerts

Revision ID: 0006
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(table: str, col: str, ref: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{ref}.id"], name=op.f(f"fk_{table}_{col}_{ref}"))


def _index(table: str, col: str) -> None:
    with op.batch_alter_table(table) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{col}"), [col], unique=False)


def upgrade() -> None:
    op.create_table(
        "lexicon_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("wrong", sa.String(length=100), nullable=False),
        sa.Column("right", sa.String(length=100), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("exceptions", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=8), nullable=False),
        sa.Column("since", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version_added", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version_disabled", sa.Integer(), nullable=True),
        sa.Column("disabled_by_id", sa.Integer(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        _fk("lexicon_entries", "unit_id", "units"),
        _fk("lexicon_entries", "created_by_id", "users"),
        _fk("lexicon_entries", "disabled_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lexicon_entries")),
    )
    _index("lexicon_entries", "unit_id")

    op.create_table(
        "lexicon_disables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version_added", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version_lifted", sa.Integer(), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        _fk("lexicon_disables", "unit_id", "units"),
        _fk("lexicon_disables", "created_by_id", "users"),
        _fk("lexicon_disables", "lifted_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lexicon_disables")),
    )
    _index("lexicon_disables", "unit_id")

    op.create_table(
        "lexicon_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("files_version", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("lexicon_versions", "unit_id", "units"),
        _fk("lexicon_versions", "actor_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lexicon_versions")),
        sa.UniqueConstraint("number", name=op.f("uq_lexicon_versions_number")),
    )

    op.create_table(
        "finding_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("lexicon_version", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("finding_overrides", "post_id", "posts"),
        _fk("finding_overrides", "revision_id", "revisions"),
        _fk("finding_overrides", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_overrides")),
        sa.UniqueConstraint("revision_id", "finding_id", name="uq_finding_overrides_revision_finding"),
    )
    _index("finding_overrides", "post_id")

    op.create_table(
        "scan_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("lexicon_version", sa.String(length=40), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("posts_checked", sa.Integer(), nullable=False),
        sa.Column("links_checked", sa.Integer(), nullable=False),
        sa.Column("findings_count", sa.Integer(), nullable=False),
        sa.Column("new_findings", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        _fk("scan_runs", "requested_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_runs")),
        sa.UniqueConstraint("run_key", name=op.f("uq_scan_runs_run_key")),
    )
    _index("scan_runs", "day")

    op.create_table(
        "scan_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("is_new", sa.Boolean(), nullable=False),
        sa.Column("lexicon_version", sa.String(length=40), nullable=False),
        _fk("scan_findings", "run_id", "scan_runs"),
        _fk("scan_findings", "post_id", "posts"),
        _fk("scan_findings", "revision_id", "revisions"),
        _fk("scan_findings", "unit_id", "units"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_findings")),
    )
    for col in ("run_id", "post_id", "unit_id", "fingerprint"):
        _index("scan_findings", col)

    op.create_table(
        "check_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        _fk("check_alerts", "run_id", "scan_runs"),
        _fk("check_alerts", "unit_id", "units"),
        _fk("check_alerts", "post_id", "posts"),
        _fk("check_alerts", "account_id", "accounts"),
        _fk("check_alerts", "acknowledged_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_alerts")),
    )
    for col in ("run_id", "unit_id"):
        _index("check_alerts", col)


def downgrade() -> None:
    for table, cols in (("check_alerts", ("run_id", "unit_id")),
                        ("scan_findings", ("run_id", "post_id", "unit_id", "fingerprint")),
                        ("scan_runs", ("day",)), ("lexicon_versions", ()),
                        ("finding_overrides", ("post_id",)), ("lexicon_disables", ("unit_id",)),
                        ("lexicon_entries", ("unit_id",))):
        if cols:
            with op.batch_alter_table(table) as batch_op:
                for col in cols:
                    batch_op.drop_index(batch_op.f(f"ix_{table}_{col}"))
        op.drop_table(table)
