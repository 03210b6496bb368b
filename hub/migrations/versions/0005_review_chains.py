"""review chains, unit pauses, revision views

Revision ID: 0005
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_chains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_review_chains_unit_id_units")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_review_chains_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_chains")),
        sa.UniqueConstraint("unit_id", "category", "version", name="uq_review_chains_unit_category_version"),
    )
    with op.batch_alter_table("review_chains") as batch_op:
        batch_op.create_index(batch_op.f("ix_review_chains_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "unit_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("paused_by_id", sa.Integer(), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=False),
        sa.Column("resumed_by_id", sa.Integer(), nullable=True),
        sa.Column("resumed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_unit_pauses_unit_id_units")),
        sa.ForeignKeyConstraint(["paused_by_id"], ["users.id"], name=op.f("fk_unit_pauses_paused_by_id_users")),
        sa.ForeignKeyConstraint(["resumed_by_id"], ["users.id"], name=op.f("fk_unit_pauses_resumed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_pauses")),
    )
    op.create_index("uq_unit_pauses_active_unit", "unit_pauses", ["unit_id"], unique=True,
                    sqlite_where=sa.text("resumed_at IS NULL"), postgresql_where=sa.text("resumed_at IS NULL"))

    op.create_table(
        "revision_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_revision_views_post_id_posts")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_revision_views_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revision_views")),
        sa.UniqueConstraint("post_id", "user_id", "revision_number", name="uq_revision_views_post_user_number"),
    )
    with op.batch_alter_table("revision_views") as batch_op:
        batch_op.create_index(batch_op.f("ix_revision_views_post_id"), ["post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("revision_views") as batch_op:
        batch_op.drop_index(batch_op.f("ix_revision_views_post_id"))
    op.drop_table("revision_views")
    op.drop_index("uq_unit_pauses_active_unit", table_name="unit_pauses")
    op.drop_table("unit_pauses")
    with op.batch_alter_table("review_chains") as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_chains_unit_id"))
    op.drop_table("review_chains")
