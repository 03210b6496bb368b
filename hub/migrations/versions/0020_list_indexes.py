"""Indexes that match the lists' filters and orders (issue 19: page costs independent of the data).

Revision ID: 0020
Revises: 0015
"""

from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Posts lists: a unit's posts, most recently changed first (keyset paging on updated_at, id),
    # and the same across many units (a supervisor's subtree) walked in that order.
    op.create_index("ix_posts_unit_updated", "posts", ["unit_id", "updated_at", "id"])
    op.create_index("ix_posts_updated", "posts", ["updated_at", "id"])
    # The dashboard's latest dispatches.
    op.create_index("ix_dispatches_updated", "dispatches", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_dispatches_updated", table_name="dispatches")
    op.drop_index("ix_posts_updated", table_name="posts")
    op.drop_index("ix_posts_unit_updated", table_name="posts")
