"""Policies and their 解读, validity (issue 17 parts 3 and 4): the library fields of a revision and
the policy ↔ 解读 links.

Revision ID: 0022
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("library", sa.JSON(), nullable=True))
    op.create_table(
        "policy_links",
        sa.Column("interpretation_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["interpretation_id"], ["posts.id"],
                                name=op.f("fk_policy_links_interpretation_id_posts")),
        sa.ForeignKeyConstraint(["policy_id"], ["posts.id"], name=op.f("fk_policy_links_policy_id_posts")),
        sa.PrimaryKeyConstraint("interpretation_id", "policy_id", name=op.f("pk_policy_links")),
    )
    op.create_index(op.f("ix_policy_links_policy_id"), "policy_links", ["policy_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_policy_links_policy_id"), table_name="policy_links")
    op.drop_table("policy_links")
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("library")
