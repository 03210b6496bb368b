"""The one-main-account rule in the database: a partial unique index on accounts (unit_id, platform)
over the main accounts not closed (SQLite and PostgreSQL both have partial indexes).

An instance that already holds two open main accounts of one unit on one platform (possible only
through a race before this index) fails this upgrade naming the index: close or demote one
(`PATCH /api/v1/accounts/<id>`), then run `hub init` again.

Revision ID: 0012_constraints
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_constraints"
down_revision = "0010"
branch_labels = None
depends_on = None

WHERE = "is_main AND status <> 'closed'"


def upgrade() -> None:
    op.create_index("uq_accounts_one_main", "accounts", ["unit_id", "platform"], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index("uq_accounts_one_main", table_name="accounts")
