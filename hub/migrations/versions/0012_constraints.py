"""Constraints in the database, not only in code.

* The one-main-account rule: a partial unique index on accounts (unit_id, platform) over the main
  accounts not closed (SQLite and PostgreSQL both have partial indexes).
* Every enum-backed status column (posts, dispatches, filings, accounts) checked against its enum
  (hub.models.states) by a CHECK constraint; on SQLite by batch mode (the table is rebuilt).

An instance that already holds two open main accounts of one unit on one platform (possible only
through a race before this index) fails this upgrade naming the index: close or demote one
(`PATCH /api/v1/accounts/<id>`), then run `hub init` again.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WHERE = "is_main AND status <> 'closed'"

#: table -> the values of its status enum (as in hub.models.states at this revision).
STATUSES = {
    "posts": ("draft", "in_review", "approved", "publishing", "published", "partially_published", "failed",
              "rejected", "withdrawn"),
    "dispatches": ("pending", "sending", "unconfirmed", "published", "failed", "cancelled", "withdrawn"),
    "filings": ("in_review", "approved", "rejected", "superseded"),
    "accounts": ("pending", "active", "suspended", "closed"),
}


def _check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    for table, values in STATUSES.items():
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(f"ck_{table}_status", _check(values))
    op.create_index("uq_accounts_one_main", "accounts", ["unit_id", "platform"], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index("uq_accounts_one_main", table_name="accounts")
    for table in reversed(STATUSES):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_status", type_="check")
