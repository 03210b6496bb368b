"""An index for each account's publications by time (issue 19: the 监测台 and the silence monitor
aggregate per account instead of reading every publication).

Revision ID: 0023
Revises: 0014
"""

from alembic import op

revision = "0023"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dispatches_account_published", "dispatches", ["account_id", "published_at"])


def downgrade() -> None:
    op.drop_index("ix_dispatches_account_published", table_name="dispatches")
