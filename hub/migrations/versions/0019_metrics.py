"""Read counts: publication and account figures pulled from the platforms (issue 18).

Revision ID: 0019
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dispatches") as batch:
        batch.add_column(sa.Column("stats_ref", sa.String(200), nullable=True))
    op.create_table(
        "publication_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=True),
        sa.Column("shares", sa.Integer(), nullable=True),
        sa.Column("comments", sa.Integer(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("pulled_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatches.id"],
                                name="fk_publication_metrics_dispatch_id_dispatches"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_publication_metrics_account_id_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_publication_metrics"),
        sa.UniqueConstraint("dispatch_id", "day", name="uq_publication_metrics_dispatch_day"),
    )
    op.create_index("ix_publication_metrics_dispatch_id", "publication_metrics", ["dispatch_id"])
    op.create_index("ix_publication_metrics_account_id", "publication_metrics", ["account_id"])
    op.create_table(
        "account_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("publications", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("pulled_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_account_metrics_account_id_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_account_metrics"),
        sa.UniqueConstraint("account_id", "day", name="uq_account_metrics_account_day"),
    )
    op.create_index("ix_account_metrics_account_id", "account_metrics", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_account_metrics_account_id", table_name="account_metrics")
    op.drop_table("account_metrics")
    op.drop_index("ix_publication_metrics_account_id", table_name="publication_metrics")
    op.drop_index("ix_publication_metrics_dispatch_id", table_name="publication_metrics")
    op.drop_table("publication_metrics")
    with op.batch_alter_table("dispatches") as batch:
        batch.drop_column("stats_ref")
